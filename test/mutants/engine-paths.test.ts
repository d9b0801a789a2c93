import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { OpResult, TxOp } from '../../src/stores/store.js';

/**
 * What the engine feeds a rule before the store decides (src/engine/sluice.ts): a policy
 * file's custom limit until its expiry, the scale factor's precedence, a cost from the
 * subject, records and refunds, and the read-only views (keysFor, peek). Each on both paths:
 * decided in place, and through the general transaction (a store whose apply is its own).
 */
class GeneralOnly extends MemoryStore {
  override apply(ops: readonly TxOp[], now: number): OpResult[] {
    return super.apply(ops, now);
  }
}
const stores = () => [new MemoryStore(), new GeneralOnly()];

describe('the limit a rule is decided with', () => {
  it('a policy file’s custom limit for one key holds until its expiry (exclusive), then the rule’s own', () => {
    const policy = {
      rules: [{ name: 'r', key: 'user', limit: '2/1s', algorithm: 'fixed-window' }],
      overrides: [
        { rule: 'r', key: { user: 'b' }, limit: '5/1s', expires: '1970-01-01T00:00:10.500Z' },
        { rule: 'r', key: { user: 'c' }, limit: '7/1s' },
      ],
    };
    for (const store of stores()) {
      let now = 10_000;
      const sluice = Sluice.openSync({ policy, store, clock: () => now });
      expect(['a', 'b', 'c'].map((user) => sluice.checkSync({ user }).limit)).toEqual([2, 5, 7]);
      now = 10_499;
      expect(sluice.checkSync({ user: 'b' }).limit).toBe(5);
      now = 10_500;
      expect(['b', 'c'].map((user) => sluice.checkSync({ user }).limit)).toEqual([2, 7]);
    }
  });

  it('scale: the store’s attribute, else the file’s, else the subject’s (if > 0), else the default', async () => {
    const policy = {
      rules: [{ name: 'r', key: 'tenant', limit: '2/1s', algorithm: 'fixed-window', scale: { attribute: 'seats', of: 'tenant', default: 3 } }],
      attributes: { tenant: { acme: { seats: 4 }, held: { seats: 6 } } },
    };
    for (const store of stores()) {
      const sluice = Sluice.openSync({ policy, store, clock: () => 10_000 });
      await store.setAttributes('tenant:held', { seats: 1 });
      const limit = (subject: Record<string, string>) => sluice.checkSync(subject).limit;
      expect(limit({ tenant: 'acme' })).toBe(8); // the file's 4 × 2
      expect(limit({ tenant: 'acme', seats: '9' })).toBe(8); // the file's beats the subject's
      expect(limit({ tenant: 'held' })).toBe(2); // the store's 1 beats the file's 6
      expect(limit({ tenant: 'x', seats: '5' })).toBe(10);
      expect(limit({ tenant: 'y', seats: '0' })).toBe(6); // not > 0: the default 3
      expect(limit({ tenant: 'z', seats: 'many' })).toBe(6);
      expect(limit({ tenant: 'w' })).toBe(6);
    }
  });

  it('a cost read from the subject: a positive number, else 1', () => {
    const policy = { rules: [{ name: 'r', key: 'user', limit: '10/1s', algorithm: 'fixed-window', cost: { attribute: 'n' } }] };
    for (const store of stores()) {
      const sluice = Sluice.openSync({ policy, store, clock: () => 10_000 });
      const rem = (user: string, n?: string) => sluice.checkSync(n === undefined ? { user } : { user, n }).remaining;
      expect([rem('a', '3'), rem('b', '0'), rem('c', '-2'), rem('d', 'x'), rem('e'), rem('a', '7'), rem('a', '1')]).toEqual([7, 9, 9, 9, 9, 0, 0]);
    }
  });
});

describe('records and refunds', () => {
  it('a record charges only the outcome rules that count it; its byte cost is the bytes sent; nothing to charge: no rule', async () => {
    const policy = {
      rules: [
        { name: 'fails', key: 'user', limit: '2/1m', count: 'failure' },
        { name: 'bytes', key: 'user', limit: '100B/1m' },
        { name: 'plain', key: 'user', limit: '5/1m' },
      ],
    };
    for (const store of stores()) {
      const sluice = Sluice.openSync({ policy, store, clock: () => 10_000 });
      const ok = await sluice.record({ user: 'u' }, { status: 200, bytes: 30 });
      expect(ok.rules.map((r) => [r.name, r.remaining])).toEqual([['bytes', 70]]);
      const failed = await sluice.record({ user: 'u' }, { status: 500, bytes: 0 });
      expect(failed.rules.map((r) => [r.name, r.remaining])).toEqual([['fails', 1]]);
      const none = await sluice.record({ user: 'u' }, { status: 200 });
      expect(none.rules).toEqual([]);
      const other = await sluice.record({ user: 'v' }, { status: 200, bytes: 100 });
      expect(other.rules.map((r) => [r.name, r.remaining])).toEqual([['bytes', 0]]);
    }
  });

  it('a lone outcome rule’s record, in place: a failure charges it, a success charges nothing', async () => {
    const policy = { rules: [{ name: 'fails', key: 'user', limit: '2/1m', count: 'failure' }] };
    for (const store of stores()) {
      const sluice = Sluice.openSync({ policy, store, clock: () => 10_000 });
      expect((await sluice.record({ user: 'u' }, { status: 200 })).rules).toEqual([]);
      expect((await sluice.record({ user: 'u' }, { status: 401 })).remaining).toBe(1);
      expect((await sluice.record({ user: 'u' }, { status: 401 })).remaining).toBe(0);
      // The check of an outcome rule asks whether one more would fit: none does now.
      expect(sluice.checkSync({ user: 'u' }).allowed).toBe(false);
      expect(sluice.checkSync({ user: 'v' }).allowed).toBe(true);
    }
  });

  it('a refund gives back to the request rules the subject matches, by their cost or the one given', async () => {
    const policy = { rules: [{ name: 'r', key: 'user', limit: '3/1m', algorithm: 'fixed-window', cost: 2 }, { name: 'o', key: 'user', limit: '3/1m', count: 'failure' }] };
    for (const store of stores()) {
      const sluice = Sluice.openSync({ policy, store, clock: () => 10_000 });
      expect(sluice.checkSync({ user: 'u' }).rules.find((r) => r.name === 'r')?.remaining).toBe(1);
      const back = await sluice.refund({ user: 'u' });
      expect(back.rules.map((r) => [r.name, r.remaining])).toEqual([['r', 3]]);
      sluice.checkSync({ user: 'u' });
      expect((await sluice.refund({ user: 'u' }, { cost: 1 })).rules[0].remaining).toBe(2);
    }
  });
});

describe('read-only views', () => {
  const policy = {
    rules: [
      { name: 'r', key: 'user', limit: '2/1s', algorithm: 'fixed-window', block: '5s' },
      { name: 'q', key: 'user', limit: '100B/1m' },
      { name: 'other', match: { api: 'x' }, key: 'user', limit: '1/1s' },
    ],
  };
  it('keysFor names each matching rule’s state key, and its block key when it has a block', () => {
    const sluice = Sluice.openSync({ policy, clock: () => 10_000 });
    expect(sluice.keysFor({ user: 'u|1' })).toEqual([
      { rule: 'r', key: 'r|u%7C1', blockKey: 'r!b|u%7C1' },
      { rule: 'q', key: 'q|u%7C1' },
    ]);
  });

  it('peek charges nothing and trips nothing; it shows a crossed byte quota and a served block', async () => {
    for (const store of stores()) {
      let now = 10_000;
      const sluice = Sluice.openSync({ policy, store, clock: () => now });
      sluice.checkSync({ user: 'u' });
      sluice.checkSync({ user: 'u' });
      const before = await sluice.peek({ user: 'u' });
      expect(before.map((p) => [p.rule.name, p.key, p.usage.remaining, p.usage.allowed, p.over, p.block?.blocked ?? null, p.policyOverride])).toEqual([
        ['r', 'r|u', 0, false, false, false, false],
        ['q', 'q|u', 100, true, false, null, false],
      ]);
      // The peek did not trip the block: the next check is refused by the limit, and trips it then.
      const d = sluice.checkSync({ user: 'u' });
      expect([d.allowed, d.rules[0].blocked]).toEqual([false, true]);
      await sluice.record({ user: 'u' }, { status: 200, bytes: 150 });
      now = 10_001;
      const after = await sluice.peek({ user: 'u' });
      expect(after.map((p) => [p.rule.name, p.over, p.block?.blocked ?? null, p.block?.retryAfterMs ?? null])).toEqual([
        ['r', false, true, 4999],
        ['q', true, null, null],
      ]);
      expect(await sluice.peek({ user: 'u', api: 'y' })).toHaveLength(2);
    }
  });
});

describe('the synchronous entry', () => {
  it('checkSync on a store that answers with promises says which call to use', () => {
    class Later extends MemoryStore {
      override apply(ops: readonly TxOp[], now: number): OpResult[] {
        return Promise.resolve(super.apply(ops, now)) as unknown as OpResult[];
      }
    }
    const sluice = Sluice.openSync({ policy: { rules: [{ name: 'r', key: 'user', limit: '2/1s' }] }, store: new Later(), refusedCache: false, clock: () => 0 });
    expect(() => sluice.checkSync({ user: 'u' })).toThrow('checkSync needs a synchronous store; memory is asynchronous: use check()');
  });

  it('no matching rule: admitted with no rules, on both entries', async () => {
    const sluice = Sluice.openSync({ policy: { rules: [{ name: 'r', match: { api: 'x' }, key: 'user', limit: '1/1s' }] }, clock: () => 0 });
    for (const d of [sluice.checkSync({ user: 'u' }), await sluice.check({ user: 'u' })]) expect([d.allowed, d.rules]).toEqual([true, []]);
  });
});
