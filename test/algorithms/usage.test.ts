import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { algorithms, type AlgorithmName, type Params, type StepMode } from '../../src/algorithms/index.js';

/**
 * usage() is what admin inspect reports as `used`: the units a state counts at `now`, read
 * without stepping. Below the limit it must agree with step()'s own figures (used + remaining
 * = the limit, or the burst for GCRA); past the limit (forced charges: bytes sent) it keeps
 * counting where remaining stops at 0. Clocks may step back: usage reads stamps ahead of now
 * as step() clamps them.
 */

const COUNTING: Exclude<AlgorithmName, 'block'>[] = ['sliding-log', 'sliding-window', 'fixed-window', 'gcra', 'rolling-quota', 'concurrency'];
const MODES: StepMode[] = ['take', 'take', 'force', 'refund'];

const stepsArb = fc.array(fc.record({ dt: fc.integer({ min: -200, max: 400 }), cost: fc.integer({ min: 1, max: 4 }), mode: fc.constantFrom(...MODES) }), { minLength: 1, maxLength: 60 });

describe('usage() agrees with step() and counts past the limit', () => {
  for (const name of COUNTING) {
    it(`${name}: used + remaining = the limit while under it; used ≥ 0 always`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 50, max: 2000 }), stepsArb, (limit, windowMs, steps) => {
          const alg = algorithms[name];
          const p: Params = { limit, windowMs, ...(name === 'rolling-quota' ? { buckets: 10 } : {}) };
          const cap = name === 'gcra' ? (p.burst ?? limit) : limit;
          let state: number[] | null = null;
          let now = 1_000_000;
          for (const s of steps) {
            now += s.dt;
            const r = alg.step(state, now, s.cost, p, s.mode);
            if (s.mode !== 'take' || r.allowed) state = r.state;
            const used = alg.usage(state, now, p);
            const peek = alg.step(state, now, 1, p, 'peek');
            expect(used).toBeGreaterThanOrEqual(0);
            expect(peek.remaining).toBe(Math.max(0, cap - used));
          }
        }),
      );
    });
  }

  for (const name of COUNTING) {
    it(`${name}: forced charges past the limit show in usage, not in remaining`, () => {
      const alg = algorithms[name];
      // GCRA believes at most a window's worth of debt (tatCeiling): its overuse shows above the burst.
      const p: Params = name === 'gcra' ? { limit: 10, windowMs: 60_000, burst: 5 } : { limit: 10, windowMs: 60_000 };
      const over = name === 'gcra' ? 7 : 12;
      const now = 5_000_000;
      let state = alg.step(null, now, over - 3, p, 'force').state;
      state = alg.step(state, now, 3, p, 'force').state; // 2 over the limit (the burst, for GCRA)
      expect(alg.step(state, now, 1, p, 'peek').remaining).toBe(0);
      expect(alg.usage(state, now, p)).toBe(over);
      expect(alg.usage(null, now, p)).toBe(0);
      // Long after the window, nothing is counted.
      expect(alg.usage(state, now + 10 * p.windowMs, p)).toBe(0);
    });
  }

  it('block: 1 while blocked, 0 once the block ended', () => {
    const p: Params = { limit: 1, windowMs: 1000 };
    const state = algorithms.block.step(null, 0, 1, p, 'force').state;
    expect(algorithms.block.usage(state, 500, p)).toBe(1);
    expect(algorithms.block.usage(state, 1000, p)).toBe(0);
  });
});
