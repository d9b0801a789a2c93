/**
 * The local cache of refused keys (src/engine/refused-cache.ts):
 *  - differential: random transactions at random instants through RefusedCache(MemoryStore)
 *    and a bare MemoryStore give identical answers, step by step, for every algorithm it
 *    caches, with and without block penalties, and for the transactions it must not cache;
 *  - on Redis: a hot key far past its limit (50,000 checks) sends < 1% of them to Redis and
 *    answers exactly as an engine without the cache; a reset or an override made through
 *    another instance clears this instance's entry (pub/sub).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RefusedCache } from '../../src/engine/refused-cache.js';
import { Sluice } from '../../src/engine/sluice.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { connectRedisStore } from '../../src/stores/redis/connection.js';
import type { RedisStore } from '../../src/stores/redis/redis.js';
import type { TxOp } from '../../src/stores/store.js';
import { RedisServer, warnIfNoRedis } from '../helpers/redis-server.js';

const ALGS: TxOp['algorithm'][] = ['sliding-log', 'sliding-window', 'fixed-window', 'gcra', 'rolling-quota', 'concurrency'];
const RULES = ALGS.map((algorithm, i) => ({
  name: `r${i}`,
  algorithm,
  params: { limit: 2 + i, windowMs: 2_000 * (i + 1), ...(algorithm === 'gcra' ? { burst: 2 } : {}), ...(algorithm === 'rolling-quota' ? { buckets: 4 } : {}) },
}));

const opArb = fc.record({
  rule: fc.integer({ min: 0, max: RULES.length - 1 }),
  who: fc.constantFrom('a', 'b'),
  cost: fc.integer({ min: 1, max: 3 }),
  mode: fc.constantFrom<TxOp['mode']>('take', 'take', 'take', 'take', 'peek', 'force', 'refund'),
  shadow: fc.constantFrom(false, false, false, false, true),
  chargeRejected: fc.constantFrom(false, false, false, true),
  block: fc.constantFrom(0, 0, 0, 1),
});
type OpSpec = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

function toOp(s: OpSpec): TxOp {
  const r = RULES[s.rule];
  const key = `${r.name}|${s.who}`;
  const op: TxOp = { key, tag: s.who, algorithm: r.algorithm, params: r.params, cost: s.cost, mode: s.mode, shadow: s.shadow, chargeRejected: s.chargeRejected, blockMs: 0, blockOnly: false };
  if (s.block) {
    op.blockMs = 3000;
    op.blockKey = `${r.name}!b|${s.who}`;
  }
  return op;
}

describe('refused cache: the same answers as the store alone', () => {
  it('random transactions at random instants, every algorithm, blocks, refunds, shadows', () => {
    const step = fc.record({ dt: fc.constantFrom(0, 0, 1, 7, 50, 300, 999, 2500), tx: fc.array(opArb, { minLength: 1, maxLength: 3 }) });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 80 }), (steps) => {
        const bare = new MemoryStore();
        const cached = new RefusedCache(new MemoryStore());
        let now = 1_000_000;
        for (const s of steps) {
          now += s.dt;
          // Ops of one transaction on distinct keys (as the engine builds them: one per rule).
          const seen = new Set<string>();
          const ops = s.tx.map(toOp).filter((o) => !seen.has(o.key) && seen.add(o.key));
          const want = bare.apply(ops, now);
          const got = cached.apply(ops, now) as ReturnType<MemoryStore['apply']>;
          expect(got).toEqual(want);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('one key hammered: every algorithm, costs 1–3, block penalties that end and trip again', () => {
    const txArb = fc.tuple(fc.constantFrom(0, 1, 2, 3, 4), fc.integer({ min: 1, max: 3 }), fc.constantFrom(0, 1));
    const step = fc.record({ dt: fc.constantFrom(0, 0, 1, 100, 500, 1000, 2900, 3100, 6000), tx: txArb });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 150 }), (steps) => {
        const bare = new MemoryStore();
        const cached = new RefusedCache(new MemoryStore());
        let now = 1_000_000;
        for (const s of steps) {
          now += s.dt;
          const [rule, cost, block] = s.tx;
          const ops = [toOp({ rule, who: 'a', cost, mode: 'take', shadow: false, chargeRejected: false, block })];
          expect(cached.apply(ops, now)).toEqual(bare.apply(ops, now));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('answers a refused check from the cache until its retry-after, then asks the store again', () => {
    const inner = new MemoryStore();
    const cached = new RefusedCache(inner);
    const op = toOp({ rule: 2, who: 'a', cost: 1, mode: 'take', shadow: false, chargeRejected: false, block: 0 }); // fixed window 4 / 6 s
    let calls = 0;
    const apply = inner.apply.bind(inner);
    inner.apply = (ops, now) => (calls++, apply(ops, now));
    const t0 = 6_000_000; // a window boundary
    for (let i = 0; i < 4; i++) expect((cached.apply([op], t0) as { allowed: boolean }[])[0].allowed).toBe(true);
    const refused = (cached.apply([op], t0 + 1000) as { allowed: boolean; retryAfterMs: number }[])[0];
    expect(refused).toMatchObject({ allowed: false, retryAfterMs: 5000 });
    expect(calls).toBe(5);
    for (let i = 0; i < 100; i++) expect((cached.apply([op], t0 + 1000 + i * 10) as { retryAfterMs: number }[])[0].retryAfterMs).toBe(5000 - i * 10);
    expect(calls).toBe(5);
    expect(cached.stats.hits).toBe(100);
    expect((cached.apply([op], t0 + 6000) as { allowed: boolean }[])[0].allowed).toBe(true);
    expect(calls).toBe(6);
  });

  it('a reset, an override or a refund through the cache clears the key’s entry', async () => {
    const cached = new RefusedCache(new MemoryStore());
    const op = toOp({ rule: 0, who: 'b', cost: 1, mode: 'take', shadow: false, chargeRejected: false, block: 0 }); // sliding log 2 / 2 s
    const first = (now: number) => (cached.apply([op], now) as { allowed: boolean }[])[0].allowed;
    expect([first(10), first(10), first(10)]).toEqual([true, true, false]);
    expect(cached.entryCount).toBe(1);
    await cached.reset([op.key]);
    expect(cached.entryCount).toBe(0);
    expect(first(11)).toBe(true);
    expect(first(11)).toBe(true);
    expect(first(11)).toBe(false);
    await cached.setOverride({ key: op.key, rule: 'r0', keyValues: {}, limit: 10, windowMs: 2000 });
    expect(first(12)).toBe(true);
    await cached.deleteOverride(op.key);
    expect(first(12)).toBe(false);
    cached.apply([{ ...op, mode: 'refund', cost: 2 }], 13); // gives back two of the three units taken
    expect(cached.entryCount).toBe(0);
    expect(first(13)).toBe(true);
  });
});

const POLICY = `
version: 1
rules:
  - name: hot
    key: [account]
    limit: 100/10s
    algorithm: fixed-window
`;

describe.runIf(warnIfNoRedis('refused cache on Redis'))('refused cache on Redis', () => {
  let server: RedisServer;
  const stores: RedisStore[] = [];
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await server?.destroy();
  });
  const open = async (prefix: string) => {
    const s = await connectRedisStore(server.url, { requireConnection: true, prefix, clock: 'client', timeoutMs: 5000 });
    stores.push(s);
    return s;
  };

  it('a hot key far past its limit: 50,000 checks, < 1% reach Redis, answers as without the cache', async () => {
    const withCache = await open('hot-cached:');
    const without = await open('hot-plain:');
    let now = Date.UTC(2026, 2, 2, 9, 0, 0);
    const a = await Sluice.open({ policy: POLICY, store: withCache, clock: () => now });
    const b = await Sluice.open({ policy: POLICY, store: without, clock: () => now, refusedCache: false });
    const subject = { account: 'hot' };
    let checks = 0;
    let admitted = 0;
    // 50,000 checks/s for 1 s of the injected clock... and on: 1,000 bursts of 50 concurrent checks
    // (a millisecond of traffic at 50k/s each), 20 ms apart: 20 s, two windows.
    for (let burst = 0; burst < 1000; burst++) {
      const [got, want] = await Promise.all([
        Promise.all(Array.from({ length: 50 }, () => a.check(subject))),
        Promise.all(Array.from({ length: 50 }, () => b.check(subject))),
      ]);
      expect(got.map((d) => [d.allowed, d.retryAfterMs, d.resetMs])).toEqual(want.map((d) => [d.allowed, d.retryAfterMs, d.resetMs]));
      checks += got.length;
      admitted += got.filter((d) => d.allowed).length;
      now += 20;
    }
    expect(checks).toBe(50_000);
    expect(admitted).toBe(200); // 100 in each of the two windows
    expect(without.batchStats.transactions).toBe(50_000);
    expect(withCache.batchStats.transactions).toBeLessThan(500);
  }, 60_000);

  it('a reset or an override made through another instance clears this instance’s entry', async () => {
    const mine = await open('inv:');
    const theirs = await open('inv:');
    const now = Date.UTC(2026, 2, 2, 10, 0, 0);
    const a = await Sluice.open({ policy: POLICY, store: mine, clock: () => now });
    const subject = { account: 'acme' };
    for (let i = 0; i < 100; i++) expect((await a.check(subject)).allowed).toBe(true);
    expect((await a.check(subject)).allowed).toBe(false);
    const waitFor = async (cond: () => Promise<boolean>) => {
      for (let i = 0; i < 100; i++) {
        if (await cond()) return true;
        await new Promise((r) => setTimeout(r, 10));
      }
      return false;
    };
    const key = a.keysFor(subject)[0].key;
    await theirs.reset([key]);
    expect(await waitFor(async () => (await a.check(subject)).allowed)).toBe(true);
    for (let i = 0; i < 100; i++) await a.check(subject);
    expect((await a.check(subject)).allowed).toBe(false);
    await theirs.setOverride({ key, rule: 'hot', keyValues: { account: 'acme' }, limit: 1000, windowMs: 10_000 });
    expect(await waitFor(async () => (await a.check(subject)).allowed)).toBe(true);
  });
});
