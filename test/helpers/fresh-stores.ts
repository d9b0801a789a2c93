/**
 * Every store an engine test can run on, each opened fresh (no state of an earlier engine):
 * memory, SQLite (a new file in a temporary directory), and Redis when redis-server exists
 * (a new key prefix on one throwaway server, the injected clock: clock=client; otherwise the
 * suite says LOUDLY that it skipped Redis). Call `close` in afterAll.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/stores/memory.js';
import { connectRedisStore } from '../../src/stores/redis/connection.js';
import { SqliteStore } from '../../src/stores/sqlite.js';
import type { Store } from '../../src/stores/store.js';
import { RedisServer, warnIfNoRedis } from './redis-server.js';

export interface FreshStore {
  name: 'memory' | 'sqlite' | 'redis';
  open(): Promise<Store>;
}

export function freshStores(suite: string): { stores: FreshStore[]; close(): Promise<void> } {
  let dir: string | undefined;
  let n = 0;
  let redisServer: RedisServer | undefined;
  const stores: FreshStore[] = [
    { name: 'memory', open: async () => new MemoryStore() },
    {
      name: 'sqlite',
      open: async () => {
        dir ??= mkdtempSync(join(tmpdir(), 'sluice-fresh-'));
        return new SqliteStore(join(dir, `s${++n}.db`), { sweepIntervalMs: 0 });
      },
    },
  ];
  if (warnIfNoRedis(`${suite} on the redis store`)) {
    stores.push({
      name: 'redis',
      open: async () => {
        redisServer ??= await RedisServer.start();
        return connectRedisStore(`${redisServer.url}?clock=client&prefix=f${++n}:`, { requireConnection: true, timeoutMs: 5000 });
      },
    });
  }
  return {
    stores,
    async close() {
      await redisServer?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
