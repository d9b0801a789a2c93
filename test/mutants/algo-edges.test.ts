import { describe, expect, it } from 'vitest';
import { algorithms, type AlgorithmName, type Params, type StepMode } from '../../src/algorithms/index.js';
import { inPlaceTakes, IO_CELLS, REMAINING, RESET_MS, RETRY_AFTER_MS, type InPlaceTake } from '../../src/algorithms/in-place.js';

/**
 * The step functions at the edges test/mutants/algorithms-exact.test.ts leaves: the rounding
 * tolerances' own boundaries, a weight that must decay to exactly nothing, limits a rounding error
 * off a whole number (what scaling a limit leaves). Every expected figure is worked out by hand
 * from the algorithm's definition; the comments show the arithmetic.
 */
function step(name: AlgorithmName, state: number[] | null, now: number, cost: number, p: Params, mode: StepMode = 'take') {
  return algorithms[name].step(state, now, cost, p, mode);
}
const r = (allowed: boolean, remaining: number, resetMs: number, retryAfterMs: number, state: number[] | null) => ({ allowed, remaining, resetMs, retryAfterMs, state });

/** The in-place kernel's figures for the same call, as a step result without its state. */
function inPlace(name: AlgorithmName, state: number[] | null, now: number, cost: number, p: Params) {
  const io = new Float64Array(IO_CELLS);
  if (state) io.set(state);
  const allowed = (inPlaceTakes[name] as InPlaceTake).take(io, state === null, now, cost, p);
  return { allowed, remaining: io[REMAINING], resetMs: io[RESET_MS], retryAfterMs: io[RETRY_AFTER_MS] };
}

describe('sliding window counter: the edges of its arithmetic', () => {
  it('a rounding tolerance of 1e-9: a cost of the limit + 1e-9 still fits, + 2e-9 does not', () => {
    const p = { limit: 10, windowMs: 1000 };
    expect(step('sliding-window', null, 1500, 10 + 1e-9, p)).toEqual(r(true, 0, 1500, 0, [1000, 0, 10 + 1e-9]));
    expect(step('sliding-window', null, 1500, 10 + 2e-9, p)).toMatchObject({ allowed: false, remaining: 10 });
    expect(inPlace('sliding-window', null, 1500, 10 + 1e-9, p).allowed).toBe(true);
    expect(inPlace('sliding-window', null, 1500, 10 + 2e-9, p).allowed).toBe(false);
  });

  it('when the cost leaves no room at all, the retry is when the previous window weighs nothing: its end, not a ms later', () => {
    // Limit 1 at 500 ms into window [0, 1000): prev 1 × 0.5 + curr 0.1 + 0.9 = 1.5 > 1. Room 1 − 0.1 − 0.9 = 0: the previous
    // window's weight must fall to 0, at 1000: a retry of 500. (Through the next window's formula, 1 − (1 − 0.9)/0.1 rounds to 2e-16, which ⌈ ⌉ made 501.)
    const p = { limit: 1, windowMs: 1000 };
    expect(step('sliding-window', [0, 1, 0.1], 500, 0.9, p)).toEqual(r(false, 0, 1500, 500, [0, 1, 0.1]));
    expect(inPlace('sliding-window', [0, 1, 0.1], 500, 0.9, p)).toEqual({ allowed: false, remaining: 0, resetMs: 1500, retryAfterMs: 500 });
  });
});

describe('in-place takes: a fresh key ignores whatever the io cells still hold (another key’s state)', () => {
  // The store reuses one io array for every key: on a fresh key its state cells hold the last key's state, to be ignored.
  const p = { limit: 10, windowMs: 1000 };
  const stale = (cells: number[]) => {
    const io = new Float64Array(IO_CELLS);
    io.set(cells);
    return io;
  };
  it('fixed window, sliding window and GCRA answer as for an empty state', () => {
    const fw = stale([1000, 10]); // a full window [1000, 2000)
    expect((inPlaceTakes['fixed-window'] as InPlaceTake).take(fw, true, 1500, 1, p)).toBe(true);
    expect([fw[0], fw[1], fw[REMAINING]]).toEqual([1000, 1, 9]);
    const sw = stale([1000, 10, 10]); // a full current and previous window
    expect((inPlaceTakes['sliding-window'] as InPlaceTake).take(sw, true, 1500, 1, p)).toBe(true);
    expect([sw[0], sw[1], sw[2], sw[REMAINING], sw[RESET_MS]]).toEqual([1000, 0, 1, 9, 1500]);
    const g = stale([2500]); // a TAT a full burst ahead
    expect((inPlaceTakes.gcra as InPlaceTake).take(g, true, 1500, 1, p)).toBe(true);
    expect([g[0], g[REMAINING], g[RESET_MS]]).toEqual([1600, 9, 100]);
  });
});

describe('GCRA: the edge of its rounding tolerance', () => {
  it('a cost reaching exactly the burst tolerance + 1e-9 fits, in the step and in place; + 2e-9 does not', () => {
    // 1000 per 1000 ms: interval 1 ms, tolerance 1000 ms. A cost of 1000 + 1e-9 puts the TAT at now + 1000 + 1e-9: the edge, inclusive.
    const p = { limit: 1000, windowMs: 1000 };
    expect(step('gcra', null, 0, 1000 + 1e-9, p)).toMatchObject({ allowed: true, remaining: 0, retryAfterMs: 0, state: [1000 + 1e-9] });
    expect(step('gcra', null, 0, 1000 + 2e-9, p).allowed).toBe(false);
    expect(inPlace('gcra', null, 0, 1000 + 1e-9, p)).toEqual({ allowed: true, remaining: 0, resetMs: 1001, retryAfterMs: 0 });
    expect(inPlace('gcra', null, 0, 1000 + 2e-9, p).allowed).toBe(false);
  });
});

describe('concurrency: a limit or cost a rounding error off a whole number', () => {
  it('a cost a rounding error above the limit never fits: the retry is a lease duration, not when the held leases expire', () => {
    // 4 held + 1 > 0.9999999999999999 (1 − 2⁻⁵³); 4 + 1 − limit rounds to exactly 4, so only `cost > limit` says it never fits.
    const p = { limit: 0.9999999999999999, windowMs: 1000 };
    expect(step('concurrency', [100, 200, 300, 400], 0, 1, p)).toEqual(r(false, 0, 400, 1000, [100, 200, 300, 400]));
  });

  it('a cost equal to a fractional limit, with one lease held: a finite retry within a lease duration (never NaN)', () => {
    // 1 + 1.2 − 1.2 rounds to 1.0000000000000002, one more lease than is held: the retry must not index past the leases.
    const got = step('concurrency', [600], 0, 1.2, { limit: 1.2, windowMs: 1000 });
    expect(got.allowed).toBe(false);
    expect(got.retryAfterMs).toBeGreaterThanOrEqual(600); // the held lease must expire first
    expect(got.retryAfterMs).toBeLessThanOrEqual(1000);
  });
});
