import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { algorithms, type AlgorithmName, type Params } from '../../src/algorithms/index.js';
import { EXPIRED, EXPIRES_AT, FORCE, inPlaceTakes, IO_CELLS, PEEK, REMAINING, RESET_MS, RETRY_AFTER_MS, TAKE, USED, type InPlaceLogTake, type InPlaceTake } from '../../src/algorithms/in-place.js';
import { LogRings } from '../../src/stores/log-rings.js';

/** The algorithms whose take works on cells of fixed-size state. */
const NAMES = (Object.keys(inPlaceTakes) as AlgorithmName[]).filter((n) => inPlaceTakes[n]!.kind === 'cells');
const cells = (name: AlgorithmName) => inPlaceTakes[name] as InPlaceTake;

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
  it('exist for the fixed-size algorithms, with their width, and for the sliding log', () => {
    for (const name of NAMES) expect(cells(name).width).toBe(algorithms[name].fixedSize);
    expect(NAMES.sort()).toEqual(['fixed-window', 'gcra', 'sliding-window']);
    expect(inPlaceTakes['sliding-log']!.kind).toBe('log');
  });

  for (const name of NAMES) {
    it(`${name}: decides, reports and charges exactly as its step function in 'take' mode`, () => {
      const alg = algorithms[name];
      const take = cells(name);
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

describe('the sliding log in place (a ring of whole-ms entries)', () => {
  const log = inPlaceTakes['sliding-log'] as InPlaceLogTake;
  const step = algorithms['sliding-log'].step;

  // Limits changing up and down while entries are held (an override set, then lifted), windows too;
  // times and costs whole, as the store lets into a ring; some calls go through the general path.
  const callArb = fc.record({
    dt: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 4_000 }), fc.constant(0)),
    cost: fc.constantFrom(1, 1, 1, 2, 3, 7),
    limit: fc.constantFrom(0, 0, 0, 1, 2), // index into the call's limits: the rule's, or an override
    windowMs: fc.constantFrom(0, 0, 0, 1), // index into the windows
    mode: fc.constantFrom('take', 'take', 'take', 'take', 'refund', 'force', 'peek'),
    // Whether a take, force or peek goes through the general path (the step on an array) instead.
    general: fc.boolean(),
  });
  const MODES = { take: TAKE, force: FORCE, peek: PEEK } as const;

  it('decides, reports and charges exactly as the step function (take, force, peek); holds exactly the state it would', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 3, maxLength: 3 }), fc.array(fc.integer({ min: 1, max: 6_000 }), { minLength: 2, maxLength: 2 }), fc.array(callArb, { minLength: 1, maxLength: 120 }), (limits, windows, calls) => {
        const rings = new LogRings();
        rings.ensure(4);
        const KEY = 2;
        let state: number[] | null = null;
        let held = false; // whether the ring holds the state (else the general path's array does)
        let now = 1_700_000_000_000;
        const io = new Float64Array(IO_CELLS).fill(NaN);
        for (const c of calls) {
          now += c.dt;
          const p = { limit: limits[c.limit], windowMs: windows[c.windowMs] };
          const expected = step(state, now, c.cost, p, c.mode === 'take' ? 'take' : c.mode);
          if (c.mode === 'refund' || c.general) {
            // The general path: it reads the ring as an array, and writes its step's state back as one.
            if (held) expect(rings.toArray(KEY)).toEqual(state);
            if (c.mode !== 'peek' && (c.mode !== 'take' || expected.allowed)) {
              state = expected.state;
              if (held) rings.release(KEY);
              held = false;
            }
            continue;
          }
          if (!held && state !== null) {
            expect(rings.fromArray(KEY, state)).toBe(true);
            held = true;
          }
          const fits = log.take(rings, KEY, !held, now, c.cost, p, io, MODES[c.mode]);
          expect({ allowed: fits, remaining: io[REMAINING], resetMs: io[RESET_MS], retryAfterMs: io[RETRY_AFTER_MS] }).toEqual({
            allowed: expected.allowed,
            remaining: expected.remaining,
            resetMs: expected.resetMs,
            retryAfterMs: expected.retryAfterMs,
          });
          // A refusal writes nothing, in the ring as on the general path; nor does a peek.
          if (c.mode === 'peek' || (c.mode === 'take' && !fits)) {
            if (held) expect(rings.toArray(KEY)).toEqual(state);
            continue;
          }
          if (!held) rings.create(KEY, now);
          held = true;
          expect(rings.fits(KEY, now, c.cost)).toBe(true); // times only move on here
          rings.admit(KEY, io[EXPIRED], io[USED], now, c.cost);
          expect(rings.toArray(KEY)).toEqual(expected.state);
          expect(rings.total(KEY)).toBe(expected.state!.filter((_, i) => i % 2 === 1).reduce((a, b) => a + b, 0));
          expect(io[EXPIRES_AT]).toBe(algorithms['sliding-log'].expiresAt(expected.state!, p));
          state = expected.state;
        }
      }),
      { numRuns: 400 },
    );
  });

  it('rings of many keys share the pool without touching each other, and reuse what is released', () => {
    const rings = new LogRings();
    rings.ensure(64);
    const io = new Float64Array(IO_CELLS);
    const logs: number[][] = Array.from({ length: 64 }, () => []);
    let now = 1_000;
    for (let round = 0; round < 300; round++) {
      now += 7;
      for (let k = 0; k < 64; k++) {
        if ((k * 31 + round) % 5 === 0) continue;
        const fresh = logs[k].length === 0;
        const p = { limit: 1 + (k % 40), windowMs: 900 };
        if (log.take(rings, k, fresh, now, 1, p, io, TAKE)) {
          if (fresh) rings.create(k, now);
          rings.admit(k, io[EXPIRED], io[USED], now, 1);
          logs[k] = step(logs[k].length ? logs[k] : null, now, 1, p, 'take').state!;
        }
        if (round % 97 === 96 && k % 3 === 0) {
          rings.release(k);
          logs[k] = [];
        }
      }
      for (let k = 0; k < 64; k++) if (logs[k].length) expect(rings.toArray(k)).toEqual(logs[k]);
    }
  });

  it('refuses to hold what it cannot hold exactly: fractional times or costs, times out of order', () => {
    const rings = new LogRings();
    rings.ensure(1);
    expect(rings.fromArray(0, [1000.5, 1])).toBe(false);
    expect(rings.fromArray(0, [1000, 0.5])).toBe(false);
    expect(rings.fromArray(0, [1000, 1, 999, 1])).toBe(false);
    expect(rings.fromArray(0, [1000, -1])).toBe(false);
    expect(rings.fromArray(0, [1000, 1, 1000 + 2 ** 33, 1])).toBe(false);
    expect(rings.fromArray(0, [1000, 1, 1000, 2, 5000, 0])).toBe(true);
    expect(rings.toArray(0)).toEqual([1000, 1, 1000, 2, 5000, 0]);
  });

  it('rebases its offsets when the clock has moved on further than a word of ms (while entries are held)', () => {
    const rings = new LogRings();
    rings.ensure(1);
    const io = new Float64Array(IO_CELLS);
    const p = { limit: 3, windowMs: 2 ** 32 - 1 };
    let state: number[] | null = null;
    let now = 5;
    for (const dt of [0, 2 ** 31, 2 ** 31, 2 ** 31, 10, 2 ** 32]) {
      now += dt;
      const expected = step(state, now, 1, p, 'take');
      const fits = log.take(rings, 0, state === null, now, 1, p, io, TAKE);
      expect(fits).toBe(expected.allowed);
      if (!fits) continue;
      if (state === null) rings.create(0, now);
      rings.admit(0, io[EXPIRED], io[USED], now, 1);
      state = expected.state;
      expect(rings.toArray(0)).toEqual(state);
    }
  });
});
