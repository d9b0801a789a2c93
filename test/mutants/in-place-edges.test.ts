import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { OpResult, TxOp } from '../../src/stores/store.js';

/**
 * The in-place takes (a check of one plain rule on the memory store, decided in the store's own
 * cells) at their edges, through the public engine: every figure of every answer worked out by
 * hand from each algorithm's definition, at a window's end ± 1 ms, exact fills and costs past the
 * limit. The same checks through a store that refuses the in-place path (every op through the
 * general transaction) must give the same figures.
 */
class GeneralOnly extends MemoryStore {
  applied = 0;
  // A store whose apply is not its own is never decided in place (MemoryStore.inPlace).
  override apply(ops: readonly TxOp[], now: number): OpResult[] {
    this.applied++;
    return super.apply(ops, now);
  }
}

type Step = [at: number, cost: number, want: { allowed: boolean; remaining: number; resetMs: number; retryAfterMs: number }];
const ok = (remaining: number, resetMs: number) => ({ allowed: true, remaining, resetMs, retryAfterMs: 0 });
const no = (remaining: number, resetMs: number, retryAfterMs: number) => ({ allowed: false, remaining, resetMs, retryAfterMs });

function run(algorithm: string, limit: string, steps: Step[], extra: Record<string, unknown> = {}) {
  for (const store of [new MemoryStore(), new GeneralOnly()]) {
    let now = 0;
    const sluice = Sluice.openSync({ policy: { rules: [{ name: 'r', key: 'user', limit, algorithm, ...extra }] }, store, clock: () => now });
    steps.forEach(([at, cost, want], i) => {
      now = at;
      const d = sluice.checkSync({ user: 'u' }, cost === 1 ? undefined : { cost });
      expect({ step: i, store: store.constructor.name, allowed: d.allowed, remaining: d.remaining, resetMs: d.resetMs, retryAfterMs: d.retryAfterMs }).toEqual({ step: i, store: store.constructor.name, ...want });
    });
  }
}

describe('in-place takes at their edges (and the general path alike)', () => {
  it('fixed window 3/1s: the window [10000, 11000) fills exactly, refuses to its last ms, opens at its end', () => {
    run('fixed-window', '3/1s', [
      [10_000, 1, ok(2, 1000)],
      [10_500, 1, ok(1, 500)],
      [10_999, 1, ok(0, 1)],
      [10_999, 1, no(0, 1, 1)],
      [11_000, 2, ok(1, 1000)],
      [11_000, 2, no(1, 1000, 1000)],
      [11_001, 4, no(1, 999, 999)], // never fits this window: wait for the next
    ]);
  });

  it('GCRA 4/1s (interval 250, tolerance 1000): four at once, the fifth waits 250; one ms early is refused', () => {
    run('gcra', '4/1s', [
      [10_000, 1, ok(3, 250)],
      [10_000, 1, ok(2, 500)],
      [10_000, 1, ok(1, 750)],
      [10_000, 1, ok(0, 1000)], // TAT 11000: exactly the tolerance ahead
      [10_000, 1, no(0, 1000, 250)],
      [10_249, 1, no(0, 751, 1)], // 11250 - 10249 = 1001 > 1000
      [10_250, 1, ok(0, 1000)],
      [12_000, 2, ok(2, 500)], // a TAT in the past starts from now: 12000 + 2 × 250
    ]);
  });

  it('GCRA with a burst of 2 (tolerance 500)', () => {
    run('gcra', '4/1s', [
      [10_000, 1, ok(1, 250)],
      [10_000, 1, ok(0, 500)],
      [10_000, 1, no(0, 500, 250)],
    ], { burst: 2 });
  });

  it('GCRA 3/1s with a burst of 1: a fractional interval (333.3 ms) is rounded up in every figure', () => {
    run('gcra', '3/1s', [
      [10_000, 1, ok(0, 334)], // TAT 10333.3: reset ⌈333.3⌉
      [10_000, 1, no(0, 334, 334)], // would be 10666.7, 333.3 past the tolerance: ⌈333.3⌉
      [10_334, 1, ok(0, 334)],
    ], { burst: 1 });
  });

  it('sliding window: a full window is still remembered through the next one (its weight decays over it)', () => {
    run('sliding-window', '4/1s', [
      [10_000, 4, ok(0, 2000)],
      [11_900, 1, ok(2, 1100)], // 4 × 0.1 + 1 = 1.4 used: ⌊4 − 1.4⌋ = 2 left
      [11_900, 2, ok(0, 1100)], // 4 × 0.1 + 3 = 3.4
      // 3 + 1 fits once the previous window weighs nothing: at 12000, 100 ms on.
      [11_900, 1, no(0, 1100, 100)],
    ]);
  });

  it('sliding window: a key is kept for two windows, through another key’s write that sweeps expired ones', () => {
    for (const store of [new MemoryStore(), new GeneralOnly()]) {
      let now = 10_000;
      const sluice = Sluice.openSync({ policy: { rules: [{ name: 'r', key: 'user', limit: '4/1s', algorithm: 'sliding-window' }] }, store, clock: () => now });
      sluice.checkSync({ user: 'u' }, { cost: 4 });
      now = 11_900;
      sluice.checkSync({ user: 'v' }); // a write: the store drops expired keys at its LRU tail (u is there)
      expect(sluice.checkSync({ user: 'u' }).remaining).toBe(2); // 4 × 0.1 + 1 = 1.4 used, had u been kept
    }
  });

  it('sliding window 4/1s: the previous window weighs by its overlap; the retry is when the weight has decayed enough', () => {
    run('sliding-window', '4/1s', [
      [10_000, 1, ok(3, 2000)],
      [10_000, 3, ok(0, 2000)],
      // curr 4: wait for the next window, until 1 − (4 − 1)/4 = 1/4 of it has passed: 11250.
      [10_000, 1, no(0, 2000, 1250)],
      // 11249: overlap 0.751, 4 × 0.751 + 1 > 4; the retry within the window: 11000 + (1 − 3/4) × 1000 = 11250.
      [11_249, 1, no(0, 751, 1)],
      [11_250, 1, ok(0, 1750)], // 4 × 0.75 + 1 = 4 fits exactly
      [13_000, 5, no(4, 0, 1000)], // cost > limit: the rest of this window
    ]);
  });

  it('sliding log 3/1s: entries [t, t + 1000); the retry is when the oldest needed leaves', () => {
    run('sliding-log', '3/1s', [
      [10_000, 1, ok(2, 1000)],
      [10_400, 1, ok(1, 1000)],
      [10_800, 1, ok(0, 1000)],
      [10_900, 1, no(0, 900, 100)], // 10000 leaves at 11000; the newest at 11800
      [10_999, 1, no(0, 801, 1)],
      [11_000, 1, ok(0, 1000)], // 10000 has left (t + window <= now)
      [11_100, 2, no(0, 900, 700)], // needs 10400 and 10800 gone: 11800
      [11_100, 4, no(0, 900, 900)], // never fits: when the newest (11000) leaves
      [12_000, 4, no(3, 0, 1000)], // nothing live, cost > limit: a window
    ]);
  });
});

describe('several rules decided in place at once (and the general path alike)', () => {
  const policy = {
    rules: [
      { name: 'wide', key: 'user', limit: '5/1s', algorithm: 'fixed-window' },
      { name: 'narrow', key: 'user', limit: '2/1s', algorithm: 'gcra' },
    ],
  };
  it('all or nothing: the narrow rule refuses the third, and the wide rule is not charged by it', () => {
    for (const store of [new MemoryStore(), new GeneralOnly()]) {
      let now = 10_000;
      const sluice = Sluice.openSync({ policy, store, clock: () => now });
      expect(sluice.checkSync({ user: 'u' }).allowed).toBe(true);
      expect(sluice.checkSync({ user: 'u' }).allowed).toBe(true);
      const d = sluice.checkSync({ user: 'u' });
      expect([d.allowed, d.rule, d.retryAfterMs]).toEqual([false, 'narrow', 500]); // GCRA 2/1s: interval 500
      // Admitted, the binding rule is the one closest to its limit; the wide one has 5 − 2 left (the refusal took none).
      now = 10_500;
      const a = sluice.checkSync({ user: 'u' });
      expect(a.allowed).toBe(true);
      expect(a.rules.map((r) => [r.name, r.remaining])).toEqual([
        ['wide', 2],
        ['narrow', 0],
      ]);
    }
  });
});

describe('the two paths', () => {
  it('the memory store decides in place; GeneralOnly through its apply, every check', () => {
    expect(new MemoryStore().inPlace).toBeDefined();
    const s = new GeneralOnly();
    expect(s.inPlace).toBeUndefined();
    const sluice = Sluice.openSync({ policy: { rules: [{ name: 'r', key: 'user', limit: '3/1s' }] }, store: s, clock: () => 0 });
    sluice.checkSync({ user: 'u' });
    sluice.checkSync({ user: 'u' });
    expect(s.applied).toBe(2);
  });
});

describe('overrides and blocks decided in place (and the general path alike)', () => {
  it('a run-time override applies until its expiry, exclusive: limit 4 until 10500, then the rule’s 2', async () => {
    for (const store of [new MemoryStore(), new GeneralOnly()]) {
      let now = 10_000;
      const sluice = Sluice.openSync({ policy: { rules: [{ name: 'r', key: 'user', limit: '2/1s', algorithm: 'fixed-window' }] }, store, clock: () => now });
      await store.setOverride({ key: 'r|u', rule: 'r', keyValues: { user: 'u' }, limit: 4, windowMs: 1000, expiresAt: 10_500 });
      expect([0, 1, 2, 3, 4].map(() => sluice.checkSync({ user: 'u' }).remaining)).toEqual([3, 2, 1, 0, 0]);
      now = 10_499;
      expect([sluice.checkSync({ user: 'u' }).limit, sluice.checkSync({ user: 'v' }).limit]).toEqual([4, 2]);
      now = 10_500;
      const d = sluice.checkSync({ user: 'u' });
      expect([d.allowed, d.limit, d.remaining]).toEqual([false, 2, 0]);
    }
  });

  it('a refusal trips the block (5 s): refused as blocked to its last ms, whatever the log; free at its end', () => {
    for (const store of [new MemoryStore(), new GeneralOnly()]) {
      let now = 10_000;
      const sluice = Sluice.openSync({ policy: { rules: [{ name: 'r', key: 'user', limit: '2/1s', algorithm: 'sliding-log', block: '5s' }] }, store, clock: () => now });
      sluice.checkSync({ user: 'u' });
      sluice.checkSync({ user: 'u' });
      const tripped = sluice.checkSync({ user: 'u' });
      expect([tripped.allowed, tripped.rules[0].blocked, tripped.retryAfterMs, tripped.resetMs, tripped.remaining]).toEqual([false, true, 5000, 5000, 0]);
      now = 14_999; // the log emptied at 11000; the block holds
      const held = sluice.checkSync({ user: 'u' });
      expect([held.allowed, held.rules[0].blocked, held.retryAfterMs]).toEqual([false, true, 1]);
      now = 15_000;
      const free = sluice.checkSync({ user: 'u' });
      expect([free.allowed, free.rules[0].blocked, free.remaining]).toEqual([true, false, 1]);
    }
  });
});
