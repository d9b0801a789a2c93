import { describe, expect, it } from 'vitest';
import { RefusedCache } from '../../src/engine/refused-cache.js';
import { Sluice } from '../../src/engine/sluice.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { OpResult, TxOp } from '../../src/stores/store.js';

/** The engine's entries and paths (src/engine/sluice.ts), each with its figures computed by hand from the rule. */

/** A memory store whose apply is its own: no in-place decisions, every check through a transaction. */
class GeneralOnly extends MemoryStore {
  override apply(ops: readonly TxOp[], now: number): OpResult[] {
    return super.apply(ops, now);
  }
}

/** A store whose apply throws (synchronously) while `down`. */
class Flaky extends MemoryStore {
  down = true;
  override apply(ops: readonly TxOp[], now: number): OpResult[] {
    if (this.down) throw new Error('store down');
    return super.apply(ops, now);
  }
}

/** A store that answers with promises, as a remote one does. */
class Remote extends MemoryStore {
  constructor() {
    super();
    Object.defineProperty(this, 'synchronous', { value: false });
  }
  override apply(ops: readonly TxOp[], now: number): OpResult[] {
    return Promise.resolve(super.apply(ops, now)) as unknown as OpResult[];
  }
}

describe('construction', () => {
  it('Sluice.open with a store spec passes maxKeys to the store it opens (room for 2 keys: 2 kept of 3)', async () => {
    const policy = { rules: [{ name: 'r', key: 'user', limit: '1/1m', algorithm: 'fixed-window' }] };
    const sluice = await Sluice.open({ policy, store: 'memory', maxKeys: 2, clock: () => 10_000 });
    for (const user of ['a', 'b', 'c']) await sluice.check({ user });
    expect(await sluice.store.size(10_000)).toBe(2);
    await sluice.close();
    const unbounded = await Sluice.open({ policy, store: 'memory', clock: () => 10_000 });
    for (const user of ['a', 'b', 'c']) await unbounded.check({ user });
    expect(await unbounded.store.size(10_000)).toBe(3);
    await unbounded.close();
  });

  it('maxKeys bounds the memory store made when none is given, by Sluice.open and by openSync', async () => {
    const policy = { rules: [{ name: 'r', key: 'user', limit: '1/1m', algorithm: 'fixed-window' }] };
    for (const sluice of [await Sluice.open({ policy, maxKeys: 2, clock: () => 10_000 }), Sluice.openSync({ policy, maxKeys: 2, clock: () => 10_000 })]) {
      for (const user of ['a', 'b', 'c']) await sluice.check({ user });
      expect(await sluice.store.size(10_000)).toBe(2);
    }
  });

  it('maxKeys bounds the fallback limiter’s own store too (a store down, rules failing open)', async () => {
    const policy = { rules: [{ name: 'r', key: 'user', limit: '1/1m', algorithm: 'fixed-window', on_store_error: 'open' }] };
    const sluice = Sluice.openSync({ policy, store: new Flaky(), maxKeys: 2, clock: () => 10_000, breaker: { failures: 1000 } });
    for (const user of ['a', 'b', 'c']) expect((await sluice.check({ user })).rules[0].fallback).toBe(true);
    const local = (sluice as unknown as { fallback: { local: MemoryStore } }).fallback.local;
    expect(await local.size(10_000)).toBe(2);
  });

  it('the refused cache: on by default for a store that is not synchronous, off for one that is; the option overrides both', () => {
    const policy = { rules: [{ name: 'r', key: 'user', limit: '1/1m', algorithm: 'fixed-window' }] };
    const memory = new MemoryStore();
    const remote = new Remote();
    expect(Sluice.openSync({ policy, store: memory }).store).toBe(memory);
    expect(Sluice.openSync({ policy, store: remote }).store).toBeInstanceOf(RefusedCache);
    expect(Sluice.openSync({ policy, store: remote, refusedCache: false }).store).toBe(remote);
    expect(Sluice.openSync({ policy, store: memory, refusedCache: true }).store).toBeInstanceOf(RefusedCache);
  });

  it('the refused cache is sized by the object given, else its default', async () => {
    const policy = { rules: [{ name: 'r', key: 'user', limit: '1/1m', algorithm: 'fixed-window' }] };
    for (const [refusedCache, kept] of [
      [{ maxEntries: 1 }, 1],
      [true, 3],
    ] as const) {
      const sluice = Sluice.openSync({ policy, store: new Remote(), refusedCache, clock: () => 10_000 });
      for (const user of ['a', 'b', 'c']) {
        await sluice.check({ user });
        expect((await sluice.check({ user })).allowed).toBe(false);
      }
      expect((sluice.store as RefusedCache).entryCount).toBe(kept);
    }
  });

  it('now() is the injected clock', () => {
    let t = 1234;
    const sluice = Sluice.openSync({ policy: { rules: [{ name: 'r', limit: '1/1s' }] }, clock: () => t });
    expect(sluice.now()).toBe(1234);
    t = 99;
    expect(sluice.now()).toBe(99);
  });
});

describe('records', () => {
  it('a lone byte rule’s record charges the bytes sent; no bytes charges nothing', async () => {
    const policy = { rules: [{ name: 'q', key: 'user', limit: '100B/1m' }] };
    for (const store of [new MemoryStore(), new GeneralOnly()]) {
      const sluice = Sluice.openSync({ policy, store, clock: () => 10_000 });
      expect((await sluice.record({ user: 'u' }, { status: 200, bytes: 30 })).rules.map((r) => [r.name, r.remaining])).toEqual([['q', 70]]);
      expect((await sluice.record({ user: 'u' }, { status: 200 })).rules).toEqual([]);
      expect((await sluice.record({ user: 'u' }, { status: 200, bytes: 0 })).rules).toEqual([]);
      expect((await sluice.record({ user: 'u' }, { status: 200, bytes: 70 })).remaining).toBe(0);
    }
  });
});

describe('a store that throws', () => {
  it('check: the rules that fail closed refuse with 503 and retry 1 s, those that fail open are decided locally; the error is reported', async () => {
    const errors: unknown[] = [];
    const store = new Flaky();
    const policy = {
      rules: [
        { name: 'open', key: 'user', limit: '2/1m', algorithm: 'fixed-window', on_store_error: 'open' },
        { name: 'closed', key: 'user', limit: '3/1m', algorithm: 'fixed-window', on_store_error: 'closed' },
      ],
    };
    const sluice = Sluice.openSync({ policy, store, clock: () => 10_000, onStoreError: (e) => errors.push(e) });
    const d = await sluice.check({ user: 'u' });
    expect(d.rules.map((r) => [r.name, r.allowed, r.limit, r.remaining, r.retryAfterMs])).toEqual([
      ['open', true, 2, 1, 0],
      ['closed', false, 3, 0, 1000],
    ]);
    expect([d.allowed, d.status]).toEqual([false, 503]);
    expect(d.storeFailure).toMatchObject({ message: 'Rate-limit store unavailable (memory); refusing rules that fail closed.', handling: ['open', 'closed'], shortCircuited: false });
    expect((errors[0] as Error).message).toBe('store down');
    expect(sluice.counters).toEqual({ storeErrors: 1, fallbackDecisions: 1, closedDecisions: 1, shortCircuited: 0 });
  });
});

describe('the breaker, through the engine', () => {
  const policy = { rules: [{ name: 'r', key: 'user', limit: '5/1m', algorithm: 'fixed-window', on_store_error: 'closed' }] };

  for (const entry of ['check', 'checkSync'] as const) {
    it(`${entry}: opens after 2 failures, skips the store (short-circuited, no error reported) until a probe at the cooldown’s end succeeds`, async () => {
      let now = 10_000;
      const errors: unknown[] = [];
      const store = new Flaky();
      const sluice = Sluice.openSync({ policy, store, clock: () => now, breaker: { failures: 2, cooldownMs: 100 }, onStoreError: (e) => errors.push(e) });
      const decide = async () => (entry === 'check' ? await sluice.check({ user: 'u' }) : sluice.checkSync({ user: 'u' }));
      expect((await decide()).storeFailure?.shortCircuited).toBe(false);
      expect(sluice.breaker.open).toBe(false);
      await decide();
      expect(sluice.breaker.open).toBe(true);
      const skipped = await decide();
      expect([skipped.status, skipped.storeFailure?.shortCircuited, skipped.storeFailure?.error]).toEqual([503, true, undefined]);
      expect(errors).toHaveLength(2);
      expect(sluice.counters).toEqual({ storeErrors: 2, fallbackDecisions: 0, closedDecisions: 3, shortCircuited: 1 });
      store.down = false;
      now = 10_099;
      expect((await decide()).storeFailure?.shortCircuited).toBe(true);
      now = 10_100;
      // The probe: the store answers (its own count, 1 of 5), and the breaker closes.
      const probe = await decide();
      expect([probe.allowed, probe.remaining, probe.storeFailure]).toEqual([true, 4, undefined]);
      expect(sluice.breaker.open).toBe(false);
      expect((await decide()).remaining).toBe(3);
      // A success resets the count: one failure after it does not open the breaker.
      store.down = true;
      await decide();
      expect(sluice.breaker.open).toBe(false);
    });
  }
});

describe('a store that commits in groups (whenDurable)', () => {
  class Grouped extends GeneralOnly {
    durable: Promise<void> | undefined;
    whenDurable(): Promise<void> | undefined {
      return this.durable;
    }
  }
  const policy = { rules: [{ name: 'r', key: 'user', limit: '5/1m', algorithm: 'fixed-window', on_store_error: 'closed' }] };

  it('a check is answered once the decision is durable, with the store’s decision', async () => {
    const store = new Grouped();
    let flush!: () => void;
    store.durable = new Promise((r) => (flush = r));
    const sluice = Sluice.openSync({ policy, store, clock: () => 10_000 });
    let answered = false;
    const d = sluice.check({ user: 'u' }).then((x) => ((answered = true), x));
    await new Promise<void>((r) => setImmediate(r));
    expect(answered).toBe(false);
    flush();
    expect([(await d).allowed, (await d).remaining]).toEqual([true, 4]);
  });

  it('a commit that fails: the decision is the store-failure one, and the error is reported', async () => {
    const errors: unknown[] = [];
    const store = new Grouped();
    const boom = new Error('disk full');
    store.durable = Promise.reject(boom);
    const sluice = Sluice.openSync({ policy, store, clock: () => 10_000, onStoreError: (e) => errors.push(e) });
    const d = await sluice.check({ user: 'u' });
    expect([d.allowed, d.status, d.storeFailure?.error]).toEqual([false, 503, boom]);
    expect(errors).toEqual([boom]);
    expect(sluice.counters.storeErrors).toBe(1);
  });
});

describe('records over several rules', () => {
  it('every rule that counts the outcome is charged (not only the first), and a lease after them is released', async () => {
    const policy = {
      rules: [
        { name: 'req', key: 'user', limit: '10/1m', algorithm: 'fixed-window' },
        { name: 'fails', key: 'user', limit: '5/1m', count: 'failure' },
        { name: 'bytes', key: 'user', limit: '100B/1m' },
        { name: 'lease', key: 'user', limit: '1/30s', algorithm: 'concurrency' },
      ],
    };
    for (const store of [new MemoryStore(), new GeneralOnly()]) {
      const sluice = Sluice.openSync({ policy, store, clock: () => 10_000 });
      expect(sluice.checkSync({ user: 'u' }).allowed).toBe(true);
      expect(sluice.checkSync({ user: 'u' }).rule).toBe('lease');
      const d = await sluice.record({ user: 'u' }, { status: 500, bytes: 40 });
      expect(d.rules.map((r) => [r.name, r.remaining])).toEqual([
        ['fails', 4],
        ['bytes', 60],
        ['lease', 1],
      ]);
      // The lease is back: the next check is admitted.
      expect(sluice.checkSync({ user: 'u' }).allowed).toBe(true);
    }
  });

  it('a lease before the one counting rule: released, and the rule charged', async () => {
    const policy = {
      rules: [
        { name: 'lease', key: 'user', limit: '1/30s', algorithm: 'concurrency' },
        { name: 'bytes', key: 'user', limit: '100B/1m' },
      ],
    };
    for (const store of [new MemoryStore(), new GeneralOnly()]) {
      const sluice = Sluice.openSync({ policy, store, clock: () => 10_000 });
      sluice.checkSync({ user: 'u' });
      const d = await sluice.record({ user: 'u' }, { status: 200, bytes: 40 });
      expect(d.rules.map((r) => [r.name, r.remaining])).toEqual([
        ['lease', 1],
        ['bytes', 60],
      ]);
      expect(sluice.checkSync({ user: 'u' }).allowed).toBe(true);
    }
  });

  it('one counting rule beside a request rule, and a later rule that does not count this outcome: the one is charged', async () => {
    const policy = {
      rules: [
        { name: 'req', key: 'user', limit: '10/1m', algorithm: 'fixed-window' },
        { name: 'bytes', key: 'user', limit: '100B/1m' },
        { name: 'fails', key: 'user', limit: '5/1m', count: 'failure' },
      ],
    };
    for (const store of [new MemoryStore(), new GeneralOnly()]) {
      const sluice = Sluice.openSync({ policy, store, clock: () => 10_000 });
      const d = await sluice.record({ user: 'u' }, { status: 200, bytes: 100 });
      expect([d.allowed, d.rules.map((r) => [r.name, r.remaining])]).toEqual([true, [['bytes', 0]]]);
      // Past the quota: a record still charges it (forced), and says the rule is over.
      const over = await sluice.record({ user: 'u' }, { status: 200, bytes: 1 });
      expect(over.rules.map((r) => [r.name, r.remaining])).toEqual([['bytes', 0]]);
      expect((await sluice.peek({ user: 'u' })).map((p) => [p.rule.name, p.over])).toEqual([
        ['req', false],
        ['bytes', true],
        ['fails', false],
      ]);
    }
  });

  it('a lone shadow rule’s record over its limit: charged, and never a refusal', async () => {
    const policy = { rules: [{ name: 'fails', key: 'user', limit: '1/1m', count: 'failure', shadow: true }] };
    for (const store of [new MemoryStore(), new GeneralOnly()]) {
      const sluice = Sluice.openSync({ policy, store, clock: () => 10_000 });
      await sluice.record({ user: 'u' }, { status: 500 });
      const d = await sluice.record({ user: 'u' }, { status: 500 });
      expect([d.allowed, d.status, d.rules[0].name]).toEqual([true, 200, 'fails']);
      expect(sluice.checkSync({ user: 'u' }).shadowDenied).toEqual(['fails']);
    }
  });

  it('a lone concurrency rule’s record releases its lease (the general path)', async () => {
    const policy = { rules: [{ name: 'lease', key: 'user', limit: '1/30s', algorithm: 'concurrency' }] };
    for (const store of [new MemoryStore(), new GeneralOnly()]) {
      const sluice = Sluice.openSync({ policy, store, clock: () => 10_000 });
      sluice.checkSync({ user: 'u' });
      expect(sluice.checkSync({ user: 'u' }).allowed).toBe(false);
      expect((await sluice.record({ user: 'u' }, { status: 200 })).rules.map((r) => [r.name, r.remaining])).toEqual([['lease', 1]]);
      expect(sluice.checkSync({ user: 'u' }).allowed).toBe(true);
    }
  });
});

describe('a lone outcome rule with a block, checked', () => {
  it('asks only whether the key is blocked: admitted when full, refused once a record past the limit trips the block', async () => {
    const policy = { rules: [{ name: 'fails', key: 'user', limit: '2/1m', count: 'failure', block: '10s' }] };
    for (const store of [new MemoryStore(), new GeneralOnly()]) {
      let now = 0;
      const sluice = Sluice.openSync({ policy, store, clock: () => now });
      await sluice.record({ user: 'u' }, { status: 500 });
      await sluice.record({ user: 'u' }, { status: 500 });
      const full = sluice.checkSync({ user: 'u' });
      expect([full.allowed, full.rules[0].blocked]).toEqual([true, false]);
      await sluice.record({ user: 'u' }, { status: 500 });
      now = 1000;
      const d = sluice.checkSync({ user: 'u' });
      expect([d.allowed, d.rules[0].blocked, d.retryAfterMs, d.status]).toEqual([false, true, 9000, 429]);
    }
  });
});

describe('a reload and the refused cache', () => {
  it('forgets the refusals it holds: a key refused under the old limit is decided under the new one', async () => {
    const policyOf = (limit: string) => ({ rules: [{ name: 'r', key: 'user', limit, algorithm: 'fixed-window' }] });
    const sluice = Sluice.openSync({ policy: policyOf('1/1m'), store: new Remote(), clock: () => 10_000 });
    expect(sluice.store).toBeInstanceOf(RefusedCache);
    await sluice.check({ user: 'u' });
    expect((await sluice.check({ user: 'u' })).allowed).toBe(false);
    expect((sluice.store as RefusedCache).entryCount).toBe(1);
    sluice.setPolicy(Sluice.openSync({ policy: policyOf('5/1m') }).policy);
    expect((sluice.store as RefusedCache).entryCount).toBe(0);
    const d = await sluice.check({ user: 'u' });
    expect([d.allowed, d.limit, d.remaining]).toEqual([true, 5, 3]);
  });
});

describe('a bad cost, named by its entry', () => {
  it('check and refund reject, checkSync throws, each saying which call and what cost', async () => {
    const sluice = Sluice.openSync({ policy: { rules: [{ name: 'r', key: 'user', limit: '5/1m' }] }, clock: () => 0 });
    await expect(sluice.refund({ user: 'u' }, { cost: -1 })).rejects.toThrow('refund: cost must be a finite number ≥ 0 (got -1)');
    await expect(sluice.check({ user: 'u' }, { cost: Number.NaN })).rejects.toThrow('check: cost must be a finite number ≥ 0 (got NaN)');
    expect(() => sluice.checkSync({ user: 'u' }, { cost: Infinity })).toThrow('checkSync: cost must be a finite number ≥ 0 (got Infinity)');
  });
});

describe('peek', () => {
  it('charges and writes nothing on any algorithm: three peeks, then a check, leaves limit − 1', async () => {
    for (const algorithm of ['fixed-window', 'sliding-window', 'sliding-log', 'gcra']) {
      for (const store of [new MemoryStore(), new GeneralOnly()]) {
        const sluice = Sluice.openSync({ policy: { rules: [{ name: 'r', key: 'user', limit: '3/1m', algorithm }] }, store, clock: () => 10_000 });
        for (let i = 0; i < 3; i++) expect((await sluice.peek({ user: 'u' }))[0].usage.remaining).toBe(3);
        // Nor does it write a state: the store holds no key until the check.
        expect([algorithm, await sluice.store.size(10_000)]).toEqual([algorithm, 0]);
        expect([algorithm, sluice.checkSync({ user: 'u' }).remaining]).toEqual([algorithm, 2]);
      }
    }
  });
});
