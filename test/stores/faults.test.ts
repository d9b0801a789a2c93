/**
 * Redis failures: Redis is killed under load and restarted on the same port. Every check
 * keeps answering within the timeout (fail-open rules from the local limiter, fail-closed
 * rules with 503), nothing throws or rejects unhandled, store errors are counted, and once
 * Redis is back decisions come from Redis again without restarting anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { connectRedisStore } from '../../src/stores/redis/connection.js';
import { KeySpace } from '../../src/stores/redis/keys.js';
import type { RedisStore } from '../../src/stores/redis/redis.js';
import { RedisCluster, RedisServer, warnIfNoRedis } from '../helpers/redis-server.js';

const policy = `
version: 1
rules:
  - name: open-rule
    match: { api: open }
    key: [account]
    limit: 1000000/1m
    on_store_error: open
  - name: closed-rule
    match: { api: closed }
    key: [account]
    limit: 1000000/1m
    on_store_error: closed
`;

interface Sample {
  at: number;
  ms: number;
  status: number;
  fallback: boolean;
}

async function load(sluice: Sluice, ms: number, events: { at: number; run: () => Promise<void> }[]): Promise<Sample[]> {
  const samples: Sample[] = [];
  const start = Date.now();
  const end = start + ms;
  let next = 0;
  const workers = Array.from({ length: 16 }, async (_, w) => {
    let i = 0;
    while (Date.now() < end && i++ < 200_000) {
      const t0 = Date.now();
      const d = await sluice.check({ api: w % 2 ? 'open' : 'closed', account: `a${w}` });
      samples.push({ at: t0 - start, ms: Date.now() - t0, status: d.status, fallback: d.rules.some((r) => r.fallback === true) });
      // Yield to timers and I/O like a server would between requests (fallback answers resolve in microtasks).
      await new Promise((r) => setImmediate(r));
    }
  });
  const driver = (async () => {
    for (const e of events) {
      const wait = start + e.at - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await e.run();
      next++;
    }
  })();
  await Promise.all([...workers, driver]);
  expect(next).toBe(events.length);
  return samples;
}

describe.skipIf(!warnIfNoRedis('Redis fault handling'))('redis faults', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  it('single node killed under load, then restarted: checks keep answering, then use Redis again', async () => {
    const server = await RedisServer.start();
    let store: RedisStore | undefined;
    let sluice: Sluice | undefined;
    try {
      store = await connectRedisStore(server.url, { requireConnection: true, timeoutMs: 200, prefix: 'fault:' });
      const errors: unknown[] = [];
      sluice = await Sluice.open({ policy, store, onStoreError: (e) => errors.push(e) });
      // The last second is 3 s after the restart: room for a loaded machine to start redis-server and reconnect.
      const samples = await load(sluice, 5000, [
        { at: 700, run: () => server.stop('SIGKILL') },
        { at: 1800, run: () => server.start() },
      ]);
      const before = samples.filter((s) => s.at < 600);
      const during = samples.filter((s) => s.at > 900 && s.at < 1700);
      const after = samples.filter((s) => s.at > 4000);
      expect(before.length).toBeGreaterThan(0);
      expect(before.every((s) => s.status === 200 && !s.fallback)).toBe(true);
      // While Redis is down: open rules fall back to the local limiter, closed rules answer 503.
      expect(during.some((s) => s.fallback && s.status === 200)).toBe(true);
      expect(during.some((s) => s.status === 503)).toBe(true);
      expect(during.every((s) => s.status === 200 || s.status === 503)).toBe(true);
      // Back on Redis without a restart.
      expect(after.length).toBeGreaterThan(0);
      expect(after.every((s) => s.status === 200 && !s.fallback)).toBe(true);
      // No check hung: each answered within the store's timeout plus generous scheduling slack
      // (the guarantee under test is "bounded", not any particular speed).
      expect(samples.reduce((m, s) => Math.max(m, s.ms), 0)).toBeLessThan(2000);
      expect(sluice.counters.storeErrors).toBeGreaterThan(0);
      expect(errors.length).toBe(sluice.counters.storeErrors);
      expect(unhandled).toEqual([]);
      expect(await server.cli('EXISTS', new KeySpace('fault:').state('open-rule|a1')).trim()).toBe('1');
    } finally {
      await sluice?.close();
      await server.destroy();
    }
  }, 30_000);

  it('stopped Redis at startup: the store still opens, falls back, and connects when Redis appears', async () => {
    const server = await RedisServer.start();
    await server.stop();
    let sluice: Sluice | undefined;
    try {
      const store = await connectRedisStore(server.url, { timeoutMs: 100, connectTimeoutMs: 300, prefix: 'late:' });
      sluice = await Sluice.open({ policy, store });
      const d = await sluice.check({ api: 'open', account: 'x' });
      expect(d.allowed).toBe(true);
      expect(d.rules[0].fallback).toBe(true);
      expect((await sluice.check({ api: 'closed', account: 'x' })).status).toBe(503);
      await server.start();
      const end = Date.now() + 5000;
      let fromRedis = false;
      while (!fromRedis && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 100));
        fromRedis = (await sluice.check({ api: 'open', account: 'x' })).rules[0].fallback !== true;
      }
      expect(fromRedis).toBe(true);
      expect(unhandled).toEqual([]);
    } finally {
      await sluice?.close();
      await server.destroy();
    }
  }, 30_000);

  it('cluster: a master killed under load; checks keep answering and nothing crashes', async () => {
    const cluster = await RedisCluster.start();
    let sluice: Sluice | undefined;
    try {
      const store = await connectRedisStore(cluster.url, { requireConnection: true, timeoutMs: 200, prefix: 'cfault:' });
      sluice = await Sluice.open({ policy, store });
      const samples = await load(sluice, 5000, [
        { at: 500, run: () => cluster.nodes[1].stop('SIGKILL') },
        { at: 1500, run: () => cluster.nodes[1].start() },
      ]);
      expect(samples.every((s) => s.status === 200 || s.status === 503)).toBe(true);
      expect(samples.some((s) => s.fallback)).toBe(true);
      expect(samples.reduce((m, s) => Math.max(m, s.ms), 0)).toBeLessThan(2000);
      // The master rejoined with its slots: decisions come from the cluster again.
      const after = samples.filter((s) => s.at > 4500);
      expect(after.length).toBeGreaterThan(0);
      expect(after.every((s) => s.status === 200 && !s.fallback)).toBe(true);
      expect(unhandled).toEqual([]);
    } finally {
      await sluice?.close();
      await cluster.destroy();
    }
  }, 40_000);
});
