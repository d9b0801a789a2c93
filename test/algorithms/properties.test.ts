import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { algorithms, type AlgorithmName, type Params, type StepMode } from '../../src/algorithms/index.js';

/** A run of takes at non-decreasing times; returns what each call saw. */
function run(name: AlgorithmName, p: Params, calls: { dt: number; cost: number }[]) {
  let state: number[] | null = null;
  let now = 1_000_000;
  const out: { now: number; cost: number; allowed: boolean; retryAfterMs: number; before: number[] | null }[] = [];
  for (const c of calls) {
    now += c.dt;
    const before = state;
    const r = algorithms[name].step(state, now, c.cost, p, 'take');
    if (r.allowed) state = r.state;
    out.push({ now, cost: c.cost, allowed: r.allowed, retryAfterMs: r.retryAfterMs, before });
  }
  return out;
}

const callsArb = (maxDt: number, maxCost = 1) => fc.array(fc.record({ dt: fc.integer({ min: 0, max: maxDt }), cost: fc.integer({ min: 1, max: maxCost }) }), { minLength: 1, maxLength: 120 });

describe('sliding log (exact rolling window)', () => {
  it('never admits more than the limit in any interval of the window length, and admits exactly when an oracle would', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 10, max: 1000 }), callsArb(300, 3), (limit, windowMs, calls) => {
        const admitted: { t: number; c: number }[] = [];
        for (const r of run('sliding-log', { limit, windowMs }, calls)) {
          const inWindow = admitted.filter((a) => a.t > r.now - windowMs).reduce((s, a) => s + a.c, 0);
          expect(r.allowed).toBe(inWindow + r.cost <= limit);
          if (r.allowed) admitted.push({ t: r.now, c: r.cost });
        }
        for (const a of admitted) {
          const sum = admitted.filter((b) => b.t >= a.t && b.t < a.t + windowMs).reduce((s, b) => s + b.c, 0);
          expect(sum).toBeLessThanOrEqual(limit);
        }
      }),
    );
  });

  it('admits the next unit at exactly retryAfterMs, not a millisecond before', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 10, max: 1000 }), callsArb(200), (limit, windowMs, calls) => {
        const p = { limit, windowMs };
        let state: number[] | null = null;
        let now = 0;
        for (const c of calls) {
          now += c.dt;
          const r = algorithms['sliding-log'].step(state, now, 1, p, 'take');
          if (r.allowed) {
            state = r.state;
            continue;
          }
          expect(r.retryAfterMs).toBeGreaterThan(0);
          expect(algorithms['sliding-log'].step(state, now + r.retryAfterMs - 1, 1, p, 'take').allowed).toBe(false);
          expect(algorithms['sliding-log'].step(state, now + r.retryAfterMs, 1, p, 'take').allowed).toBe(true);
        }
      }),
    );
  });
});

describe('GCRA', () => {
  it('never admits more than burst + elapsed / interval units in any interval', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 100, max: 10_000 }), fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }), callsArb(500, 3), (limit, windowMs, burst, calls) => {
        const p = { limit, windowMs, burst };
        const interval = windowMs / limit;
        const b = burst ?? limit;
        const admitted = run('gcra', p, calls).filter((r) => r.allowed);
        for (let i = 0; i < admitted.length; i++) {
          let sum = 0;
          for (let j = i; j < admitted.length; j++) {
            sum += admitted[j].cost;
            expect(sum).toBeLessThanOrEqual(b + (admitted[j].now - admitted[i].now) / interval + 1e-6);
          }
        }
      }),
    );
  });

  it('a refused call becomes admissible after retryAfterMs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 100, max: 5000 }), callsArb(400), (limit, windowMs, calls) => {
        const p = { limit, windowMs };
        for (const r of run('gcra', p, calls)) {
          if (r.allowed) continue;
          expect(algorithms.gcra.step(r.before, r.now + r.retryAfterMs, r.cost, p, 'take').allowed).toBe(true);
        }
      }),
    );
  });
});

describe('fixed window and sliding window counter', () => {
  it('fixed window never admits more than the limit within one aligned window', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 10, max: 1000 }), callsArb(200, 2), (limit, windowMs, calls) => {
        const perWindow = new Map<number, number>();
        for (const r of run('fixed-window', { limit, windowMs }, calls)) {
          if (!r.allowed) continue;
          const w = Math.floor(r.now / windowMs);
          perWindow.set(w, (perWindow.get(w) ?? 0) + r.cost);
          expect(perWindow.get(w)).toBeLessThanOrEqual(limit);
        }
      }),
    );
  });

  it('sliding window counter keeps its weighted estimate within the limit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 10, max: 1000 }), callsArb(300, 2), (limit, windowMs, calls) => {
        const counts = new Map<number, number>();
        for (const r of run('sliding-window', { limit, windowMs }, calls)) {
          if (!r.allowed) continue;
          const start = Math.floor(r.now / windowMs) * windowMs;
          counts.set(start, (counts.get(start) ?? 0) + r.cost);
          const prev = counts.get(start - windowMs) ?? 0;
          const estimate = prev * (1 - (r.now - start) / windowMs) + counts.get(start)!;
          expect(estimate).toBeLessThanOrEqual(limit + 1e-6);
        }
      }),
    );
  });
});

describe('rolling quota', () => {
  it('never lets the weight charged in any window length exceed the quota, and never under-counts', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 5000 }), fc.integer({ min: 100, max: 10_000 }), fc.integer({ min: 1, max: 50 }), callsArb(2000, 400), (limit, windowMs, buckets, calls) => {
        const admitted: { t: number; c: number }[] = [];
        for (const r of run('rolling-quota', { limit, windowMs, buckets }, calls)) {
          if (!r.allowed) continue;
          admitted.push({ t: r.now, c: r.cost });
          const inWindow = admitted.filter((a) => a.t > r.now - windowMs).reduce((s, a) => s + a.c, 0);
          expect(inWindow).toBeLessThanOrEqual(limit);
        }
      }),
    );
  });
});

describe('concurrency', () => {
  it('never has more than the limit of unexpired leases in flight', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.record({ dt: fc.integer({ min: 0, max: 300 }), release: fc.boolean() }), { maxLength: 100 }), (limit, events) => {
        const p = { limit, windowMs: 1000 };
        let state: number[] | null = null;
        let now = 0;
        let held: number[] = [];
        for (const e of events) {
          now += e.dt;
          held = held.filter((t) => t > now);
          const mode: StepMode = e.release ? 'refund' : 'take';
          const r = algorithms.concurrency.step(state, now, 1, p, mode);
          if (mode === 'refund') {
            held.sort((a, b) => a - b).shift();
            state = r.state;
          } else if (r.allowed) {
            held.push(now + 1000);
            state = r.state;
          }
          expect(held.length).toBeLessThanOrEqual(limit);
          expect(r.allowed || mode === 'take').toBe(true);
        }
      }),
    );
  });
});

describe('every algorithm', () => {
  const names = ['sliding-log', 'sliding-window', 'fixed-window', 'gcra', 'rolling-quota', 'concurrency'] as const;

  it('leaves the state unchanged when it refuses a take, and when it peeks', () => {
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.integer({ min: 1, max: 5 }), callsArb(300, 3), fc.integer({ min: 1, max: 4 }), (name, limit, calls, cost) => {
        const p = { limit, windowMs: 1000 };
        let state: number[] | null = null;
        let now = 0;
        for (const c of calls) {
          now += c.dt;
          const frozen = state ? [...state] : null;
          const peek = algorithms[name].step(state, now, cost, p, 'peek');
          const take = algorithms[name].step(state, now, cost, p, 'take');
          expect(state).toEqual(frozen);
          expect(peek.allowed).toBe(take.allowed);
          if (!take.allowed) {
            // The refused step's state is equivalent to the old one: the next call sees the same thing.
            const a = algorithms[name].step(state, now + 1, 1, p, 'peek');
            const b = algorithms[name].step(take.state, now + 1, 1, p, 'peek');
            expect(b.allowed).toBe(a.allowed);
            expect(b.remaining).toBe(a.remaining);
          } else {
            state = take.state;
          }
        }
      }),
    );
  });

  it('refund gives back what take charged', () => {
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.integer({ min: 2, max: 10 }), fc.integer({ min: 0, max: 5000 }), (name, limit, now) => {
        const p = { limit, windowMs: 1000 };
        const before = algorithms[name].step(null, now, 1, p, 'peek').remaining;
        const took = algorithms[name].step(null, now, 1, p, 'take');
        const back = algorithms[name].step(took.state, now, 1, p, 'refund');
        expect(back.remaining).toBe(before);
      }),
    );
  });

  it('reports remaining within [0, limit] and no retry delay when admitted', () => {
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.integer({ min: 1, max: 10 }), callsArb(300, 2), (name, limit, calls) => {
        for (const r of run(name, { limit, windowMs: 1000 }, calls)) {
          if (r.allowed) expect(r.retryAfterMs).toBe(0);
          else expect(r.retryAfterMs).toBeGreaterThan(0);
        }
      }),
    );
  });
});

describe('block penalty', () => {
  it('refuses for exactly the block duration after it trips', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 1, max: 1e7 }), (at, ms) => {
        const p = { limit: 1, windowMs: ms };
        const tripped = algorithms.block.step(null, at, 1, p, 'force').state;
        expect(algorithms.block.step(tripped, at, 1, p, 'take').allowed).toBe(false);
        expect(algorithms.block.step(tripped, at + ms - 1, 1, p, 'take').allowed).toBe(false);
        expect(algorithms.block.step(tripped, at + ms, 1, p, 'take').allowed).toBe(true);
      }),
    );
  });
});
