/**
 * Run-time overrides under concurrency, on Redis: a PUT on one instance and a DELETE on another
 * at the same moment (both answered) must leave the listing equal to what the decisions apply,
 * in 500 of 500 tries; an expired override leaves the listing (and the index). Memory and SQLite
 * keep an override and its listing in one structure; their expired overrides leave the listing too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyTag } from '../../src/stores/redis/keys.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { SqliteStore } from '../../src/stores/sqlite.js';
import type { Store, StoredOverride, TxOp } from '../../src/stores/store.js';
import { connectRedisStore } from '../../src/stores/redis/connection.js';
import type { RedisStore } from '../../src/stores/redis/redis.js';
import { RedisServer, warnIfNoRedis } from '../helpers/redis-server.js';

const RULE_LIMIT = 1000;
const OVERRIDE_LIMIT = 5;

function peekOp(key: string): TxOp {
  return { key, tag: keyTag(key), algorithm: 'fixed-window', params: { limit: RULE_LIMIT, windowMs: 60_000 }, cost: 1, mode: 'peek', shadow: false, chargeRejected: false, blockMs: 0, blockOnly: false };
}

function override(key: string, expiresAt?: number): StoredOverride {
  return { key, rule: 'r', keyValues: { tenant: key.slice(2) }, limit: OVERRIDE_LIMIT, windowMs: 60_000, ...(expiresAt !== undefined ? { expiresAt } : {}) };
}

/** Whether a decision on `key` applies its override. */
async function applies(store: Store, key: string, now: number): Promise<boolean> {
  const [r] = await store.apply([peekOp(key)], now);
  return r.limit === OVERRIDE_LIMIT;
}

describe.skipIf(!warnIfNoRedis('override races on the redis store'))('overrides under concurrency on Redis', () => {
  let server: RedisServer;
  let a: RedisStore;
  let b: RedisStore;
  beforeAll(async () => {
    server = await RedisServer.start();
    a = await connectRedisStore(server.url, { requireConnection: true, timeoutMs: 5000 });
    b = await connectRedisStore(server.url, { requireConnection: true, timeoutMs: 5000 });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await server?.destroy();
  });

  it('a PUT on one instance racing a DELETE on another: the listing equals what applies, 500 of 500 tries', async () => {
    const wrong: string[] = [];
    for (let i = 0; i < 500; i++) {
      const key = `r|t${i}`;
      // Half the tries race against an override that already exists, half against none.
      if (i % 2 === 0) await a.setOverride(override(key));
      const put = a.setOverride(override(key));
      const del = b.deleteOverride(key);
      await Promise.all(i % 4 < 2 ? [put, del] : [del, put]);
      const listed = (await b.listOverrides()).some((o) => o.key === key);
      const applied = await applies(a, key, Date.now());
      if (listed !== applied) wrong.push(`${key}: listed ${listed}, applied ${applied}`);
    }
    expect(wrong).toEqual([]);
  });

  it('an expired override leaves the listing and the index (on the decisions\' clock, here injected)', async () => {
    const c = await connectRedisStore(`${server.url}?clock=client`, { requireConnection: true, timeoutMs: 5000 });
    try {
      const key = 'r|expiring';
      const now = Date.now();
      await c.setOverride(override(key, now + 60_000));
      expect((await c.listOverrides(now)).some((o) => o.key === key)).toBe(true);
      expect(await applies(c, key, now)).toBe(true);
      expect((await c.listOverrides(now + 60_000)).some((o) => o.key === key)).toBe(false);
      expect(await c.client.hexists(c.keys.overrideIndex, key)).toBe(0);
      expect(await applies(c, key, now + 60_000)).toBe(false);
    } finally {
      await c.close();
    }
  });
});

describe('expired overrides leave the listing', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-ov-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const [name, open] of [
    ['memory', () => new MemoryStore()],
    ['sqlite', () => new SqliteStore(join(dir, 'o.db'), { sweepIntervalMs: 0 })],
  ] as const) {
    it(name, async () => {
      const store: Store = open();
      const now = Date.UTC(2026, 0, 5);
      await store.setOverride(override('r|a', now + 1000));
      await store.setOverride(override('r|b'));
      expect((await store.listOverrides(now)).map((o) => o.key)).toEqual(['r|a', 'r|b']);
      expect(await applies(store, 'r|a', now)).toBe(true);
      expect((await store.listOverrides(now + 1000)).map((o) => o.key)).toEqual(['r|b']);
      expect(await applies(store, 'r|a', now + 1000)).toBe(false);
      await store.close();
    });
  }
});
