/**
 * Outages that keep limits, against real redis-server processes (issue 17):
 *  - N instances (separate engines, each with its own RedisStore on one Redis) learn N
 *    from heartbeats; with Redis killed, together they admit at most the limit × 1.1;
 *  - Redis frozen with SIGSTOP under load: the breaker trips and decisions answer at once
 *    from the fallback instead of each waiting out the timeout; after SIGCONT a probe
 *    brings Redis back. Bounds are counts with generous slack, never a timing assert
 *    on one request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { connectRedisStore } from '../../src/stores/redis/connection.js';
import type { RedisStore } from '../../src/stores/redis/redis.js';
import { RedisServer, warnIfNoRedis } from '../helpers/redis-server.js';

const policy = `
version: 1
rules:
  - name: per-minute
    match: { api: x }
    key: [account]
    limit: 30/1m
    on_store_error: open
`;

describe.skipIf(!warnIfNoRedis('Redis outages: shares across instances, breaker under SIGSTOP'))('redis outages', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  beforeAll(() => void process.on('unhandledRejection', onUnhandled));
  afterAll(() => void process.off('unhandledRejection', onUnhandled));

  for (const n of [2, 3]) {
    it(`${n} instances during an outage admit at most the limit × 1.1 together, counting what Redis had seen`, async () => {
      const server = await RedisServer.start();
      const engines: Sluice[] = [];
      try {
        const prefix = `share${n}:`;
        const stores: RedisStore[] = [];
        for (let i = 0; i < n; i++) stores.push(await connectRedisStore(server.url, { requireConnection: true, timeoutMs: 200, prefix, instances: { intervalMs: 0 } }));
        for (const s of stores) await s.instances.beat();
        for (const s of stores) expect(await s.instances.beat()).toBe(n);
        for (const s of stores) engines.push(await Sluice.open({ policy, store: s }));
        // Before the outage: 12 of 30 used, spread over the instances.
        let admitted = 0;
        for (let i = 0; i < 12; i++) if ((await engines[i % n].check({ api: 'x', account: 'acme' })).allowed) admitted++;
        expect(admitted).toBe(12);
        await server.stop('SIGKILL');
        let during = 0;
        let fallback = 0;
        for (let i = 0; i < 60; i++) {
          for (const e of engines) {
            const d = await e.check({ api: 'x', account: 'acme' });
            if (d.allowed) during++;
            if (d.rules[0].fallback) fallback++;
          }
        }
        expect(fallback).toBe(60 * n);
        // Before the change each instance admitted the whole limit again (n × 30 on top of 12).
        expect(admitted + during).toBeLessThanOrEqual(Math.floor(30 * 1.1));
        expect(during).toBeGreaterThan(0); // still fail-open, not fail-closed
        expect(unhandled).toEqual([]);
      } finally {
        await Promise.all(engines.map((e) => e.close()));
        await server.destroy();
      }
    }, 30_000);
  }

  it('SIGSTOP under load: the breaker trips, decisions answer from the fallback at once; SIGCONT: Redis is used again', async () => {
    const server = await RedisServer.start();
    let sluice: Sluice | undefined;
    try {
      const store = await connectRedisStore(server.url, { requireConnection: true, timeoutMs: 250, prefix: 'stop:', instances: { intervalMs: 0 } });
      sluice = await Sluice.open({ policy: policy.replace('30/1m', '1000000/1m'), store, breaker: { failures: 3, cooldownMs: 500 } });
      const s = sluice;
      const samples: { at: number; ms: number; fallback: boolean; tripped: boolean }[] = [];
      const start = Date.now();
      let stopAt = Infinity;
      let contAt = Infinity;
      const workers = Array.from({ length: 8 }, async (_, w) => {
        let i = 0;
        while (Date.now() - start < 4000 && i++ < 100_000) {
          const t0 = Date.now();
          const d = await s.check({ api: 'x', account: `a${w}` });
          samples.push({ at: t0 - start, ms: Date.now() - t0, fallback: d.rules[0].fallback === true, tripped: s.breaker.trips > 0 });
          await new Promise((r) => setImmediate(r));
        }
      });
      const driver = (async () => {
        await new Promise((r) => setTimeout(r, 600));
        server.pause();
        stopAt = Date.now() - start;
        await new Promise((r) => setTimeout(r, 1600));
        server.resume();
        contAt = Date.now() - start;
      })();
      await Promise.all([...workers, driver]);
      expect(s.breaker.trips).toBeGreaterThanOrEqual(1);
      const frozen = samples.filter((x) => x.at > stopAt && x.at < contAt - 300);
      const afterTrip = frozen.filter((x) => x.tripped);
      expect(afterTrip.length).toBeGreaterThan(100);
      // Before the breaker every decision waited the full 250 ms; after it, nearly all answer at once.
      const quick = afterTrip.filter((x) => x.ms < 50).length;
      expect(quick / afterTrip.length).toBeGreaterThan(0.9);
      expect(s.counters.shortCircuited).toBeGreaterThan(100);
      const late = samples.filter((x) => x.at > contAt + 1500);
      expect(late.length).toBeGreaterThan(0);
      expect(late.every((x) => !x.fallback)).toBe(true);
      expect(unhandled).toEqual([]);
    } finally {
      await sluice?.close();
      await server.destroy();
    }
  }, 30_000);
});
