import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { OpResult, TxOp } from '../../src/stores/store.js';

/**
 * The exact sliding log against a brute-force model of its definition: every admitted (time,
 * cost) is kept, and each answer is worked out from them directly: a unit counts for
 * [t, t + window); a cost fits while the units counting now plus it stay within the limit;
 * a refusal waits until enough of the oldest have left (or, for a cost above the limit, until
 * the newest has). Many keys and long runs, so the memory store's rings grow, wrap, move
 * and are packed (src/stores/log-rings.ts); a 40-day window rebases a ring's offsets. Times
 * step by a window ± 1 ms, 0 and 1 ms, where the off-by-ones live.
 */
class GeneralOnly extends MemoryStore {
  override apply(ops: readonly TxOp[], now: number): OpResult[] {
    return super.apply(ops, now);
  }
}

interface Want {
  allowed: boolean;
  remaining: number;
  resetMs: number;
  retryAfterMs: number;
}

/** The definition, by brute force over everything ever admitted for one key. */
function model(log: [number, number][], now: number, cost: number, limit: number, w: number): Want {
  const live = log.filter(([t]) => t + w > now);
  const used = live.reduce((s, [, c]) => s + c, 0);
  if (used + cost <= limit) {
    log.push([now, cost]);
    return { allowed: true, remaining: limit - used - cost, resetMs: w, retryAfterMs: 0 };
  }
  const resetMs = live.length ? live[live.length - 1][0] + w - now : 0;
  let retry = w;
  if (cost > limit) {
    if (live.length) retry = live[live.length - 1][0] + w - now;
  } else {
    let excess = used + cost - limit;
    for (const [t, c] of live) {
      excess -= c;
      if (excess <= 0) {
        retry = t + w - now;
        break;
      }
    }
  }
  return { allowed: false, remaining: Math.max(0, limit - used), resetMs, retryAfterMs: retry };
}

function drive(limit: number, w: number, window: string, steps: { dt: number; who: number; cost: number }[]) {
  for (const store of [new MemoryStore(), new GeneralOnly()]) {
    let now = 1_000_000;
    const sluice = Sluice.openSync({ policy: { rules: [{ name: 'log', key: 'user', limit: `${limit}/${window}`, algorithm: 'sliding-log' }] }, store, clock: () => now });
    const logs = new Map<number, [number, number][]>();
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i];
      now += s.dt;
      let log = logs.get(s.who);
      if (!log) logs.set(s.who, (log = []));
      const want = model(log, now, s.cost, limit, w);
      const d = sluice.checkSync({ user: `u${s.who}` }, s.cost === 1 ? undefined : { cost: s.cost });
      const got = { allowed: d.allowed, remaining: d.remaining, resetMs: d.resetMs, retryAfterMs: d.retryAfterMs };
      if (JSON.stringify(got) !== JSON.stringify(want)) expect({ store: store.constructor.name, step: i, now, who: s.who, cost: s.cost, ...got }).toEqual({ store: store.constructor.name, step: i, now, who: s.who, cost: s.cost, ...want });
    }
  }
}

const SEED = Number(process.env.SLUICE_SEED ?? 18_2026);

describe('sliding log vs its brute-force model', () => {
  it('many keys with long logs (rings that grow, wrap and are packed), at window edges', () => {
    const W = 1000;
    const dt = fc.oneof(fc.constantFrom(0, 0, 1, W - 1, W, W + 1), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 * W }));
    const step = fc.record({ dt, who: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 150 })), cost: fc.constantFrom(1, 1, 1, 1, 2, 3, 41) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(step, { minLength: 50, maxLength: 1500 }), (limit, steps) => drive(limit, W, '1s', steps)),
      { seed: SEED, numRuns: 12 },
    );
  });

  it('a burst of thousands of entries in one second over many keys (the pool grows and is packed)', () => {
    const steps = Array.from({ length: 6000 }, (_, i) => ({ dt: i % 7 === 0 ? 1 : 0, who: (i * 37) % 97, cost: 1 + (i % 3 === 0 ? 1 : 0) }));
    drive(80, 1000, '1s', steps);
  });

  it('a 40-day window: a ring held longer than its 32-bit offsets reach (49.7 days) is rebased', () => {
    const day = 86_400_000;
    // Limit 2: each unit leaves 40 days after it came, while the other stays, so the ring is never empty.
    const days = [0, 30, 35, 40, 41, 60, 70, 71, 80, 81, 82, 100, 112, 121, 122, 160];
    const steps = days.map((d, i) => ({ dt: (d - (i ? days[i - 1] : 0)) * day, who: 0, cost: 1 }));
    drive(2, 40 * day, '40d', steps);
  });
});
