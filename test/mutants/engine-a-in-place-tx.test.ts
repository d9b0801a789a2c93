import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { OpResult, TxOp } from '../../src/stores/store.js';

/**
 * A check over several rules (or one in shadow mode or charging refusals) decided in place as one
 * transaction (src/engine/sluice.ts decideAllInPlace), against the general transaction: all admit
 * and the request rules are charged, or none is (save those that charge refusals); a refusal
 * trips its rule's block; a shadow rule never refuses. Every figure is worked out from the rules.
 */
class GeneralOnly extends MemoryStore {
  applied = 0;
  override apply(ops: readonly TxOp[], now: number): OpResult[] {
    this.applied++;
    return super.apply(ops, now);
  }
}
const both = () => [new MemoryStore(), new GeneralOnly()];
const figures = (d: { rules: { name: string; allowed: boolean; remaining: number; retryAfterMs: number; blocked: boolean }[] }) =>
  d.rules.map((r) => [r.name, r.allowed, r.remaining, r.retryAfterMs, r.blocked]);

describe('several rules decided together', () => {
  it('a shadow rule that refuses does not refuse the check and is not charged by it; the real rule is', () => {
    const policy = {
      rules: [
        { name: 's', key: 'user', limit: '1/1s', algorithm: 'fixed-window', shadow: true },
        { name: 'r', key: 'user', limit: '5/1s', algorithm: 'fixed-window' },
      ],
    };
    for (const store of both()) {
      const sluice = Sluice.openSync({ policy, store, clock: () => 10_000 });
      expect(sluice.checkSync({ user: 'u' }).allowed).toBe(true);
      const d = sluice.checkSync({ user: 'u' });
      expect([d.allowed, d.shadowDenied]).toEqual([true, ['s']]);
      // s refused (no block tripped: shadow), r charged: 5 − 2.
      expect(figures(d)).toEqual([
        ['s', false, 0, 1000, false],
        ['r', true, 3, 0, false],
      ]);
      expect(figures(sluice.checkSync({ user: 'u' }))[0]).toEqual(['s', false, 0, 1000, false]);
    }
  });

  it('one rule refusing: none is charged, and the refusing rule’s block is tripped (reported blocked), the other’s is not', () => {
    const policy = {
      rules: [
        { name: 'a', key: 'user', limit: '1/1s', algorithm: 'fixed-window', block: '5s' },
        { name: 'b', key: 'user', limit: '5/1s', algorithm: 'fixed-window', block: '5s' },
      ],
    };
    for (const store of both()) {
      let now = 10_000;
      const sluice = Sluice.openSync({ policy, store, clock: () => now });
      sluice.checkSync({ user: 'u' });
      const d = sluice.checkSync({ user: 'u' });
      expect(d.allowed).toBe(false);
      // b's figure is what it would have left had the check been admitted (5 − 2); it was not charged:
      // the next check (a blocked) shows b the same 3.
      expect(figures(d)).toEqual([
        ['a', false, 0, 5000, true],
        ['b', true, 3, 0, false],
      ]);
      expect(figures(sluice.checkSync({ user: 'u' }))).toEqual([
        ['a', false, 0, 5000, true],
        ['b', true, 3, 0, false],
      ]);
      // The next window: a is still blocked (5000 − 1000), b's count starts again.
      now = 11_000;
      const later = sluice.checkSync({ user: 'u' });
      expect(figures(later)).toEqual([
        ['a', false, 0, 4000, true],
        ['b', true, 4, 0, false],
      ]);
      // A blocked refusal trips nothing more: still 4000 − 1 at 11001, not a fresh 5 s.
      now = 11_001;
      expect(figures(sluice.checkSync({ user: 'u' }))[0]).toEqual(['a', false, 0, 3999, true]);
    }
  });

  it('a rule that charges refusals is charged by the refused check; the others are not', () => {
    // A sliding log 2/1s that charges refusals: each refusal at 500 is an entry, so at 1000 (the entries at 0 gone) the log is still full.
    const policy = {
      rules: [
        { name: 'c', key: 'user', limit: '2/1s', algorithm: 'sliding-log', charge_rejected: true },
        { name: 'w', key: 'user', limit: '10/1m', algorithm: 'fixed-window' },
      ],
    };
    for (const store of both()) {
      let now = 0;
      const sluice = Sluice.openSync({ policy, store, clock: () => now });
      sluice.checkSync({ user: 'u' });
      sluice.checkSync({ user: 'u' });
      now = 500;
      const refused = sluice.checkSync({ user: 'u' });
      expect(figures(refused)).toEqual([
        ['c', false, 0, 500, false],
        ['w', true, 7, 0, false],
      ]);
      // w was not charged by the refusal: 10 − 2 − 1 again.
      expect(figures(sluice.checkSync({ user: 'u' }))[1]).toEqual(['w', true, 7, 0, false]);
      now = 1000;
      expect(sluice.checkSync({ user: 'u' }).allowed).toBe(false);
      // The other key, refused nothing: both fit again at 1000.
      now = 0;
      sluice.checkSync({ user: 'x' });
      sluice.checkSync({ user: 'x' });
      now = 1000;
      expect([sluice.checkSync({ user: 'x' }).allowed, sluice.checkSync({ user: 'x' }).allowed]).toEqual([true, true]);
    }
  });

  it('a fixed window that charges refusals, beside another rule: charged by the refusal (its count goes past the limit)', async () => {
    const policy = {
      rules: [
        { name: 'c', key: 'user', limit: '1/1m', algorithm: 'fixed-window', charge_rejected: true },
        { name: 'w', key: 'user', limit: '10/1m', algorithm: 'fixed-window' },
      ],
    };
    for (const store of both()) {
      const sluice = Sluice.openSync({ policy, store, clock: () => 0 });
      for (let i = 0; i < 3; i++) sluice.checkSync({ user: 'u' });
      const peeks = await sluice.peek({ user: 'u' });
      // c counted 3 (1 admitted + 2 refusals charged), w only the admitted one.
      expect(peeks.map((p) => [p.rule.name, p.usage.remaining])).toEqual([
        ['c', 0],
        ['w', 9],
      ]);
      expect(sluice.checkSync({ user: 'v' }).allowed).toBe(true);
      const read = (store as MemoryStore).read({ key: 'c|u' });
      expect(read?.[1]).toBe(3);
    }
  });

  it('a lone shadow rule (decided as a transaction of one): never refuses, not charged when it would refuse', () => {
    const policy = { rules: [{ name: 's', key: 'user', limit: '2/1s', algorithm: 'fixed-window', shadow: true }] };
    for (const store of both()) {
      const sluice = Sluice.openSync({ policy, store, clock: () => 10_000 });
      const ds = [0, 1, 2, 3].map(() => sluice.checkSync({ user: 'u' }));
      expect(ds.map((d) => [d.allowed, d.rules[0].allowed, d.rules[0].remaining])).toEqual([
        [true, true, 1],
        [true, true, 0],
        [true, false, 0],
        [true, false, 0],
      ]);
      expect(ds[2].shadowDenied).toEqual(['s']);
    }
  });

  it('an outcome rule beside a request rule: the check asks whether one more would fit, and charges only the request rule', async () => {
    const policy = {
      rules: [
        { name: 'fails', key: 'user', limit: '2/1m', count: 'failure' },
        { name: 'req', key: 'user', limit: '10/1m', algorithm: 'fixed-window' },
      ],
    };
    for (const store of both()) {
      const sluice = Sluice.openSync({ policy, store, clock: () => 0 });
      expect(figures(sluice.checkSync({ user: 'u' }))).toEqual([
        ['fails', true, 2, 0, false],
        ['req', true, 9, 0, false],
      ]);
      await sluice.record({ user: 'u' }, { status: 500 });
      await sluice.record({ user: 'u' }, { status: 500 });
      const d = sluice.checkSync({ user: 'u' });
      expect([d.allowed, d.rule]).toEqual([false, 'fails']);
      // Refused: req's figure is 10 − 1 − 1, and it was not charged: the same again.
      expect(figures(d)[1]).toEqual(['req', true, 8, 0, false]);
      expect(figures(sluice.checkSync({ user: 'u' }))[1]).toEqual(['req', true, 8, 0, false]);
    }
  });

  it('an outcome rule with a block beside a request rule: the check asks only whether the key is blocked', async () => {
    const policy = {
      rules: [
        { name: 'fails', key: 'user', limit: '2/1m', count: 'failure', block: '10s' },
        { name: 'req', key: 'user', limit: '10/1m', algorithm: 'fixed-window' },
      ],
    };
    for (const store of both()) {
      let now = 0;
      const sluice = Sluice.openSync({ policy, store, clock: () => now });
      await sluice.record({ user: 'u' }, { status: 500 });
      await sluice.record({ user: 'u' }, { status: 500 });
      // Full, but not blocked: admitted.
      expect(sluice.checkSync({ user: 'u' }).allowed).toBe(true);
      // A third failure goes past the limit and trips the block.
      await sluice.record({ user: 'u' }, { status: 500 });
      now = 1000;
      const d = sluice.checkSync({ user: 'u' });
      expect([d.allowed, d.rule, d.retryAfterMs]).toEqual([false, 'fails', 9000]);
      expect(d.rules[0].blocked).toBe(true);
      // req: charged by the one admitted check (10 − 1), this one's figure 10 − 2.
      expect(figures(d)[1]).toEqual(['req', true, 8, 0, false]);
    }
  });

  it('a cost of 0 is a question on every rule (would nothing more fit?): nothing is charged', () => {
    const policy = {
      rules: [
        { name: 'a', key: 'user', limit: '1/1s', algorithm: 'fixed-window' },
        { name: 'b', key: 'user', limit: '3/1s', algorithm: 'gcra' },
      ],
    };
    for (const store of both()) {
      const sluice = Sluice.openSync({ policy, store, clock: () => 10_000 });
      expect(figures(sluice.checkSync({ user: 'u' }, { cost: 0 }))).toEqual([
        ['a', true, 1, 0, false],
        ['b', true, 3, 0, false],
      ]);
      // Nothing was charged: the one unit of a is still there.
      expect(figures(sluice.checkSync({ user: 'u' }))).toEqual([
        ['a', true, 0, 0, false],
        ['b', true, 2, 0, false],
      ]);
      // At the limit, nothing more still fits.
      expect(figures(sluice.checkSync({ user: 'u' }, { cost: 0 }))).toEqual([
        ['a', true, 0, 0, false],
        ['b', true, 2, 0, false],
      ]);
      expect(sluice.checkSync({ user: 'u' }).allowed).toBe(false);
    }
  });

  it('each rule’s result carries its own limit and window: a file’s override for the key on one of them', () => {
    const policy = {
      rules: [
        { name: 'a', key: 'user', limit: '2/1s', algorithm: 'fixed-window' },
        { name: 'b', key: 'user', limit: '3/1m', algorithm: 'fixed-window' },
      ],
      overrides: [{ rule: 'b', key: { user: 'vip' }, limit: '7/1h' }],
    };
    for (const store of both()) {
      const sluice = Sluice.openSync({ policy, store, clock: () => 10_000 });
      const d = sluice.checkSync({ user: 'vip' });
      expect(d.rules.map((r) => [r.name, r.limit, r.windowMs, r.remaining])).toEqual([
        ['a', 2, 1000, 1],
        ['b', 7, 3_600_000, 6],
      ]);
    }
  });
});

describe('which checks go in place', () => {
  it('a concurrency rule among several: the general path takes the lease and charges the other rule', () => {
    const withLease = {
      rules: [
        { name: 'c', key: 'user', limit: '2/30s', algorithm: 'concurrency' },
        { name: 'r', key: 'user', limit: '5/1s', algorithm: 'fixed-window' },
      ],
    };
    for (const store of both()) {
      const sluice = Sluice.openSync({ policy: withLease, store, clock: () => 10_000 });
      expect(figures(sluice.checkSync({ user: 'u' })).map((f) => f.slice(0, 3))).toEqual([
        ['c', true, 1],
        ['r', true, 4],
      ]);
    }
  });
});
