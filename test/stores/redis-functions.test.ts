/**
 * Redis Functions: on Redis ≥ 7 the transaction library is loaded once (FUNCTION LOAD) and
 * called by FCALL; a server that lost it (FUNCTION FLUSH, as after a restart without
 * persistence) is given it again on the next call; a server that refuses FUNCTION (here an
 * ACL user without it, as on Redis < 7 or a locked-down managed Redis) gets EVALSHA, with
 * the same decisions.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { connectRedisStore } from '../../src/stores/redis/connection.js';
import type { RedisStore } from '../../src/stores/redis/redis.js';
import { RedisServer, warnIfNoRedis } from '../helpers/redis-server.js';

const POLICY = `
version: 1
rules:
  - name: per-account
    key: [account]
    limit: 3/1m
`;

describe.runIf(warnIfNoRedis('Redis Functions'))('Redis Functions', () => {
  let server: RedisServer;
  let admin: Redis;
  const stores: RedisStore[] = [];
  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.url);
    await admin.call('ACL', 'SETUSER', 'nofunction', 'on', '>pw', '~*', '&*', '+@all', '-function');
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    admin?.disconnect();
    await server?.destroy();
  });
  const open = async (url: string, prefix: string) => {
    const s = await connectRedisStore(url, { requireConnection: true, prefix, timeoutMs: 2000 });
    stores.push(s);
    return s;
  };
  const checks = async (store: RedisStore, account: string, n: number) => {
    const sluice = await Sluice.open({ policy: POLICY, store });
    const out: boolean[] = [];
    for (let i = 0; i < n; i++) out.push((await sluice.check({ account })).allowed);
    return out;
  };

  it('loads the library once and decides by FCALL, not EVALSHA', async () => {
    const store = await open(server.url, 'fn1:');
    await admin.config('RESETSTAT');
    expect(await checks(store, 'a', 4)).toEqual([true, true, true, false]);
    expect(store.callKind).toBe('function');
    const stats = await admin.info('commandstats');
    expect(stats).toMatch(/cmdstat_fcall:calls=4,/);
    expect(stats).not.toMatch(/cmdstat_evalsha/);
    expect(stats).toMatch(/cmdstat_function\|load:calls=1,/);
    const libs = (await admin.call('FUNCTION', 'LIST')) as unknown[][];
    expect(libs.length).toBe(1);
  });

  it('loads the library again when the server lost it, and the decision goes through', async () => {
    const store = await open(server.url, 'fn2:');
    expect(await checks(store, 'b', 1)).toEqual([true]);
    await admin.call('FUNCTION', 'FLUSH');
    expect(await checks(store, 'b', 3)).toEqual([true, true, false]);
    expect(store.callKind).toBe('function');
  });

  it('a server that refuses FUNCTION gets EVALSHA, with the same decisions', async () => {
    const url = server.url.replace('redis://', 'redis://nofunction:pw@');
    const store = await open(url, 'fn3:');
    await admin.config('RESETSTAT');
    expect(await checks(store, 'c', 4)).toEqual([true, true, true, false]);
    expect(store.callKind).toBe('script');
    expect(await admin.info('commandstats')).toMatch(/cmdstat_evalsha:calls=\d+,/);
  });
});
