import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { manualClock } from '../helpers/clock.js';

// Every algorithm a request rule can use, each on the in-place path and (with a block) the general one.
const ALGORITHMS = ['sliding-log', 'gcra', 'fixed-window', 'sliding-window', 'rolling-quota', 'concurrency'] as const;

function open(algorithm: (typeof ALGORITHMS)[number], block: boolean) {
  const clock = manualClock();
  return Sluice.openSync({ policy: { rules: [{ name: 'r', key: 'k', limit: '5/1m', algorithm, ...(block ? { block: '1m' } : {}) }] }, store: new MemoryStore(), clock: clock.now });
}

describe('a cost that is not a finite number ≥ 0', () => {
  for (const algorithm of ALGORITHMS) {
    for (const block of [false, true]) {
      it(`is refused with an error naming it, and charges nothing (${algorithm}${block ? ', with a block' : ''})`, async () => {
        const sluice = open(algorithm, block);
        for (const cost of [-1000, -1, -0.5, NaN, Infinity, -Infinity]) {
          expect(() => sluice.checkSync({ k: 'a' }, { cost })).toThrow(RangeError);
          expect(() => sluice.checkSync({ k: 'a' }, { cost })).toThrow(`checkSync: cost must be a finite number ≥ 0 (got ${cost})`);
          await expect(sluice.check({ k: 'a' }, { cost })).rejects.toThrow(`check: cost must be a finite number ≥ 0 (got ${cost})`);
          await expect(sluice.refund({ k: 'a' }, { cost })).rejects.toBeInstanceOf(RangeError);
        }
        expect(() => sluice.checkSync({ k: 'a' }, { cost: '3' as unknown as number })).toThrow(TypeError);
        // The bug this guards: a cost of −1000 credited the counter and let 1,005 through a 5/1m rule.
        let admitted = 0;
        for (let i = 0; i < 20; i++) if (sluice.checkSync({ k: 'a' }).allowed) admitted++;
        expect(admitted).toBe(5);
      });
    }
  }

  it('zero and fractions are still costs', () => {
    const sluice = open('sliding-log', false);
    expect(sluice.checkSync({ k: 'a' }, { cost: 0 }).allowed).toBe(true);
    expect(sluice.checkSync({ k: 'a' }, { cost: 2.5 }).remaining).toBe(2.5);
    expect(sluice.checkSync({ k: 'a' }, { cost: 2.5 }).remaining).toBe(0);
    expect(sluice.checkSync({ k: 'a' }, { cost: 0.5 }).allowed).toBe(false);
  });
});
