import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { algorithms, type AlgorithmName, type Params } from '../../src/algorithms/index.js';
import { EXPIRES_AT, inPlaceTakes, IO_CELLS, REMAINING, RESET_MS, RETRY_AFTER_MS } from '../../src/algorithms/in-place.js';

const NAMES = Object.keys(inPlaceTakes) as AlgorithmName[];

const paramsArb = fc.record({
  limit: fc.integer({ min: 1, max: 12 }),
  windowMs: fc.integer({ min: 1, max: 5_000 }),
  burst: fc.option(fc.integer({ min: 1, max: 15 }), { nil: undefined }),
});

// Times with fractions and costs with fractions too: the kernels must round exactly as the steps do.
const callsArb = fc.array(
  fc.record({
    // Negative: the clock stepped back, so the state is stamped ahead and must be clamped alike.
    dt: fc.oneof(fc.integer({ min: 0, max: 3_000 }), fc.double({ min: 0, max: 2_000, noNaN: true }), fc.integer({ min: -20_000, max: -1 })),
    cost: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.double({ min: 0.01, max: 5, noNaN: true })),
  }),
  { minLength: 1, maxLength: 80 },
);

describe('in-place takes', () => {
  it('exist exactly for the fixed-size algorithms, with their width', () => {
    for (const name of NAMES) expect(inPlaceTakes[name]!.width).toBe(algorithms[name].fixedSize);
    expect(NAMES.sort()).toEqual(['fixed-window', 'gcra', 'sliding-window']);
  });

  for (const name of NAMES) {
    it(`${name}: decides, reports and charges exactly as its step function in 'take' mode`, () => {
      const alg = algorithms[name];
      const take = inPlaceTakes[name]!;
      fc.assert(
        fc.property(paramsArb, callsArb, fc.integer({ min: 0, max: 2_000_000_000 }), (p: Params, calls, start) => {
          let state: number[] | null = null;
          let now = 1_700_000_000_000 + start;
          const io = new Float64Array(IO_CELLS).fill(NaN);
          for (const c of calls) {
            now += c.dt;
            const expected = alg.step(state, now, c.cost, p, 'take');
            if (state) {
              io.set(state);
              expect(take.ahead(io, now, p)).toBe(alg.ahead(state, now, p));
            }
            const fits = take.take(io, state === null, now, c.cost, p);
            expect({ allowed: fits, remaining: io[REMAINING], resetMs: io[RESET_MS], retryAfterMs: io[RETRY_AFTER_MS] }).toEqual({
              allowed: expected.allowed,
              remaining: expected.remaining,
              resetMs: expected.resetMs,
              retryAfterMs: expected.retryAfterMs,
            });
            if (fits) {
              // A charged take always leaves a state (the cost is positive).
              expect(expected.state).not.toBeNull();
              expect([...io.subarray(0, take.width)]).toEqual(expected.state);
              expect(io[EXPIRES_AT]).toBe(alg.expiresAt(expected.state!, p));
              state = expected.state;
            } else if (state) {
              // A refusal leaves the state cells as they were.
              expect([...io.subarray(0, take.width)]).toEqual(state);
            }
          }
        }),
        { numRuns: 300 },
      );
    });
  }
});
