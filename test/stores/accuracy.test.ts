/**
 * Accuracy across processes on one Redis: 4 OS processes race on one key.
 *  - 4 × 1,000 concurrent checks with a limit of 100 per minute admit exactly 100
 *    (sliding log, GCRA, fixed window), and refused checks leave the counter unchanged;
 *  - random bursts for a few seconds never admit more than N in any rolling window
 *    (sliding log) or any aligned window (fixed window), judged from the Redis server
 *    times of the admitted checks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { KeySpace } from '../../src/stores/redis/keys.js';
import { decodeState } from '../../src/stores/redis/state-codec.js';
import { RedisServer, warnIfNoRedis } from '../helpers/redis-server.js';
import { bundle } from '../helpers/bundle.js';
import { expectExactly100, race } from './support/race.js';

/** A state as the store keeps it (packed doubles). */
async function readState(url: string, key: string): Promise<number[] | null> {
  const c = new Redis(url);
  try {
    return decodeState(await c.getBuffer(key));
  } finally {
    c.disconnect();
  }
}

describe.skipIf(!warnIfNoRedis('multi-process accuracy on Redis'))('multi-process accuracy', () => {
  let server: RedisServer;
  let script: string;
  beforeAll(async () => {
    [server, script] = await Promise.all([RedisServer.start(), bundle(new URL('./support/accuracy-child.ts', import.meta.url))]);
  }, 60_000);
  afterAll(async () => {
    await server?.destroy();
  });

  const serverTime = () => {
    const [s, us] = server.cli('TIME').trim().split('\n').map(Number);
    return s * 1000 + Math.floor(us / 1000);
  };

  for (const algorithm of ['sliding-log', 'gcra', 'fixed-window'] as const) {
    it(`${algorithm}: 4 processes × 1,000 concurrent checks, limit 100/min → exactly 100 admitted`, async () => {
      const prefix = `acc-${algorithm}:`;
      // A fixed window must not roll over mid-race: start well inside a minute.
      if (algorithm === 'fixed-window') {
        const into = serverTime() % 60_000;
        if (into > 55_000) await new Promise((r) => setTimeout(r, 60_000 - into + 200));
      }
      const replies = await race(script, [server.url, 'burst', algorithm, prefix, '1000', '100/1m']);
      expectExactly100(replies, algorithm);
      // Refused checks left the counter as it was: exactly 100 units charged.
      const raw = (await readState(server.url, new KeySpace(prefix).state('shared|hot', 'hot')))!;
      if (algorithm === 'sliding-log') expect(raw.filter((_, i) => i % 2 === 1).reduce((a, b) => a + b, 0)).toBe(100);
      if (algorithm === 'fixed-window') expect(raw[1]).toBe(100);
      if (algorithm === 'gcra') expect(raw[0] - serverTime()).toBeLessThanOrEqual(60_000); // TAT within the burst tolerance
    }, 60_000);
  }

  for (const algorithm of ['sliding-log', 'fixed-window'] as const) {
    it(`${algorithm}: random bursts from 4 processes never admit more than N per window`, async () => {
      const N = 15;
      const W = 1000;
      const replies = await race(script, [server.url, 'random', algorithm, `rnd-${algorithm}:`, '0', `${N}/1s`, '3500']);
      expect(replies.reduce((n, r) => n + r.errors, 0)).toBe(0);
      const times = replies.flatMap((r) => r.admittedAt!).sort((a, b) => a - b);
      const calls = replies.reduce((n, r) => n + r.calls!, 0);
      expect(calls).toBeGreaterThan(times.length); // the limit was actually contended
      expect(times.length).toBeGreaterThan(N);
      if (algorithm === 'sliding-log') {
        // Any rolling window [t, t + W) holds at most N admitted checks.
        let j = 0;
        for (let i = 0; i < times.length; i++) {
          while (times[j] < times[i] - W + 1) j++;
          expect(i - j + 1).toBeLessThanOrEqual(N);
        }
      } else {
        const perWindow = new Map<number, number>();
        for (const t of times) perWindow.set(Math.floor(t / W), (perWindow.get(Math.floor(t / W)) ?? 0) + 1);
        for (const n of perWindow.values()) expect(n).toBeLessThanOrEqual(N);
      }
    }, 60_000);
  }
});
