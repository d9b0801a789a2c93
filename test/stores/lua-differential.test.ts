/**
 * The Lua twins of the algorithms must agree with the TypeScript step functions exactly:
 * the shared vectors (test/vectors/algorithms.json) and random call sequences (fast-check)
 * go through both, and results and states must be identical, double for double.
 */
import { existsSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { algorithms, type AlgorithmName, type Params, type StepMode } from '../../src/algorithms/index.js';
import { ALG_CODE } from '../../src/stores/redis/lua/transaction.js';
import { RedisStore } from '../../src/stores/redis/redis.js';
import { connectRedisStore } from '../../src/stores/redis/connection.js';
import { edgeCallsArb, edgeParamsArb, timeline } from '../helpers/boundary-calls.js';
import { RedisServer, warnIfNoRedis } from '../helpers/redis-server.js';

const MODE: Record<StepMode, string> = { take: 't', peek: 'p', force: 'f', refund: 'r' };
const VECTORS = new URL('../vectors/algorithms.json', import.meta.url);

interface Vector {
  name: string;
  algorithm: AlgorithmName;
  params: Params;
  calls: { now: number; cost: number; mode: StepMode; expect: { allowed: boolean; remaining: number; resetMs: number; retryAfterMs: number; state: number[] | null } }[];
}

interface Out {
  allowed: boolean;
  remaining: number;
  resetMs: number;
  retryAfterMs: number;
  state: number[] | null;
  expiresAt: number | null;
  /** Whether the state stepped from was stamped ahead of now (null: no state). */
  ahead: boolean | null;
}

function tsStep(alg: AlgorithmName, state: number[] | null, now: number, cost: number, mode: StepMode, p: Params): Out {
  const a = algorithms[alg];
  const r = a.step(state, now, cost, p, mode);
  const ahead = state && state.length ? a.ahead(state, now, p) : null;
  return { allowed: r.allowed, remaining: r.remaining, resetMs: r.resetMs, retryAfterMs: r.retryAfterMs, state: r.state, expiresAt: r.state ? a.expiresAt(r.state, p) : null, ahead };
}

async function luaStep(store: RedisStore, alg: AlgorithmName, state: number[] | null, now: number, cost: number, mode: StepMode, p: Params): Promise<Out> {
  const text = await store.stepLua(ALG_CODE[alg], state, now, cost, MODE[mode], p);
  const [head, st, exp, ahead] = text.split('|');
  const f = head.split(',');
  return {
    allowed: f[0] === '1',
    remaining: Number(f[1]),
    resetMs: Number(f[2]),
    retryAfterMs: Number(f[3]),
    state: st === '' ? null : st.split(',').map(Number),
    expiresAt: exp === '' ? null : Number(exp),
    ahead: ahead === '' ? null : ahead === '1',
  };
}

/** Equality that tells 0 from -0 apart only where it could matter (it never should): normalize -0. */
function norm(o: Out): Out {
  const z = (x: number) => (Object.is(x, -0) ? 0 : x);
  return { ...o, remaining: z(o.remaining), resetMs: z(o.resetMs), retryAfterMs: z(o.retryAfterMs), state: o.state ? o.state.map(z) : null, expiresAt: o.expiresAt === null ? null : z(o.expiresAt) };
}

describe.skipIf(!warnIfNoRedis('Lua twins vs TypeScript step functions'))('Lua twins vs TypeScript step functions', () => {
  let server: RedisServer;
  let store: RedisStore;

  beforeAll(async () => {
    server = await RedisServer.start();
    store = await connectRedisStore(server.url, { requireConnection: true, timeoutMs: 5000 });
  });
  afterAll(async () => {
    await store?.close();
    await server?.destroy();
  });

  it('runs the shared test vectors identically', async () => {
    expect(existsSync(VECTORS), 'test/vectors/algorithms.json is missing: regenerate it with node test/vectors/generate.mjs').toBe(true);
    const vectors = JSON.parse(readFileSync(VECTORS, 'utf8')) as Vector[];
    expect(vectors.length).toBeGreaterThan(0);
    for (const v of vectors) {
      let tsState: number[] | null = null;
      let luaState: number[] | null = null;
      for (const [i, c] of v.calls.entries()) {
        const t = tsStep(v.algorithm, tsState, c.now, c.cost, c.mode, v.params);
        const l = await luaStep(store, v.algorithm, luaState, c.now, c.cost, c.mode, v.params);
        expect(norm(l), `${v.name}, call ${i}`).toEqual(norm(t));
        const e = c.expect;
        expect({ allowed: l.allowed, remaining: l.remaining, resetMs: l.resetMs, retryAfterMs: l.retryAfterMs, state: l.state }, `${v.name}, call ${i} (vector)`).toEqual(e);
        // As a store keeps it: when charged, or clamped from a state stamped ahead of now.
        if ((c.mode !== 'peek' && (c.mode !== 'take' || t.allowed)) || t.ahead) {
          tsState = t.state;
          luaState = l.state;
        }
      }
    }
  });

  const names = Object.keys(ALG_CODE) as AlgorithmName[];
  for (const alg of names) {
    // Window edges ± 1 ms, exact fills, limits of 1: where a `>` written as `>=` shows. The fixed
    // seed replays the same cases every run; the fresh one (printed on failure) explores.
    it(`${alg}: call sequences at window edges agree (fixed and fresh seeds)`, async () => {
      const cases = edgeParamsArb.chain(({ limit, interval }) =>
        edgeCallsArb(limit + 1, limit * interval).chain((calls) =>
          fc.constantFrom<StepMode>('take', 'force', 'peek').map((mode) => ({ p: { limit, windowMs: limit * interval }, mode, calls: timeline(calls, 1_700_000_000_000, limit * interval, limit) })),
        ),
      );
      const prop = fc.asyncProperty(cases, async ({ p, mode, calls }) => {
        let tsState: number[] | null = null;
        let luaState: number[] | null = null;
        for (const [i, c] of calls.entries()) {
          const m = i % 3 === 2 ? mode : 'take';
          const t = tsStep(alg, tsState, c.now, c.cost, m, p);
          const l = await luaStep(store, alg, luaState, c.now, c.cost, m, p);
          expect(norm(l)).toEqual(norm(t));
          tsState = t.state;
          luaState = l.state;
        }
      });
      await fc.assert(prop, { seed: 20261201, numRuns: 60 });
      await fc.assert(prop, { numRuns: 60 });
    });
  }

  // A limit of 0 (an override of 0, a scale attribute of 0): nothing admitted, finite figures,
  // on both twins — also from a state written under a real limit (the override lands mid-window).
  it('a limit of 0 agrees and stays finite for every algorithm', async () => {
    for (const alg of names) {
      const p = { limit: 0, windowMs: 60_000 };
      const warm = algorithms[alg].step(null, 1_000, 1, { limit: 5, windowMs: 60_000 }, 'take').state;
      for (const start of [null, warm]) {
        let tsState: number[] | null = start;
        let luaState: number[] | null = start;
        for (const [now, mode] of [[2_000, 'take'], [2_000, 'peek'], [3_000, 'force'], [4_000, 'refund'], [70_000, 'take']] as const) {
          const t = tsStep(alg, tsState, now, 1, mode, p);
          const l = await luaStep(store, alg, luaState, now, 1, mode, p);
          expect(norm(l), `${alg} ${mode} at ${now}`).toEqual(norm(t));
          for (const x of [t.remaining, t.resetMs, t.retryAfterMs]) expect(Number.isFinite(x), `${alg} ${mode}: ${JSON.stringify(t)}`).toBe(true);
          if (alg !== 'block' && (mode === 'take' || mode === 'peek')) expect(t.allowed, `${alg} ${mode}`).toBe(false); // a block has no limit to count
          tsState = t.state;
          luaState = l.state;
        }
      }
    }
  });

  for (const alg of names) {
    it(`${alg}: random call sequences agree`, async () => {
      const integral = alg === 'concurrency';
      const cost = integral ? fc.integer({ min: 0, max: 5 }) : fc.oneof(fc.integer({ min: 0, max: 6 }), fc.double({ min: 0.01, max: 7, noNaN: true }));
      const params = fc.record(
        {
          // Concurrency counts whole leases; its limit may still be fractional once scaled.
          limit: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.double({ min: 0.5, max: 50, noNaN: true })),
          windowMs: fc.oneof(fc.integer({ min: 1, max: 100_000 }), fc.constantFrom(1000, 3000, 60_000, 432_000_000)),
          burst: fc.integer({ min: 1, max: 30 }),
          buckets: fc.integer({ min: 1, max: 120 }),
        },
        { requiredKeys: ['limit', 'windowMs'] },
      );
      const call = fc.record({
        // Negative: the clock stepped back (a Redis host's clock can), so stored stamps lie ahead.
        dt: fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.double({ min: 0, max: 5000, noNaN: true }), fc.integer({ min: 0, max: 200_000 }), fc.integer({ min: -3_600_000, max: -1 })),
        cost,
        mode: fc.constantFrom<StepMode>('take', 'take', 'take', 'peek', 'force', 'refund'),
      });
      await fc.assert(
        fc.asyncProperty(params, fc.integer({ min: 0, max: 2_000_000_000_000 }), fc.array(call, { minLength: 1, maxLength: 30 }), async (p, start, calls) => {
          let now = start;
          let tsState: number[] | null = null;
          let luaState: number[] | null = null;
          for (const c of calls) {
            now += c.dt;
            const t = tsStep(alg, tsState, now, c.cost, c.mode, p);
            const l = await luaStep(store, alg, luaState, now, c.cost, c.mode, p);
            expect(norm(l)).toEqual(norm(t));
            tsState = t.state;
            luaState = l.state;
          }
        }),
        { numRuns: 150 },
      );
    });
  }
});
