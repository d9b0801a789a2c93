import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffCeiling, fullJitter } from '../../src/client/index.js';

describe('full jitter backoff', () => {
  it('always lies within [0, min(cap, base * 2^attempt)]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 600_000 }),
        fc.double({ min: -0.5, max: 1.5, noNaN: true }), // includes out-of-contract random() values
        (attempt, baseMs, capMs, r) => {
          const delay = fullJitter(attempt, { baseMs, capMs }, () => r);
          // Mathematically 0 * 2^attempt is 0 even when 2^attempt overflows to Infinity.
          const ceiling = baseMs === 0 ? 0 : Math.min(capMs, baseMs * 2 ** attempt);
          expect(Number.isFinite(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(ceiling);
        },
      ),
      { numRuns: 2000, examples: [[1024, 0, 0, 0], [2000, 0, 500, 1], [1100, 1, 30_000, 0.999]] },
    );
  });

  it('grows exponentially until the cap', () => {
    const opts = { baseMs: 200, capMs: 30_000 };
    expect([0, 1, 2, 3, 7, 8, 50].map((a) => backoffCeiling(a, opts))).toEqual([
      200, 400, 800, 1600, 25_600, 30_000, 30_000,
    ]);
    expect(fullJitter(2, opts, () => 0.5)).toBe(400);
    expect(fullJitter(2, opts, () => 0)).toBe(0);
  });
});
