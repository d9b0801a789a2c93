/**
 * The lean connection (src/stores/redis/lean-connection.ts) on a real redis-server: the
 * transaction calls take it on a single node; it logs in and selects the database of the
 * connection string; it reconnects after a restart and the library is loaded again; a hung
 * Redis times calls out and, once thawed, every later reply still reaches its own call; the
 * stores it must not serve (TLS, Cluster, Sentinel, a key prefix) stay on ioredis; a peer that
 * is not Redis gets dropped, not believed. The store contract runs on it in contract-redis.test.ts
 * (the default), and on the ioredis-only path here.
 */
import { createServer, type Server } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Params } from '../../src/algorithms/index.js';
import { Sluice } from '../../src/engine/sluice.js';
import { connectRedisStore } from '../../src/stores/redis/connection.js';
import { LeanConnection } from '../../src/stores/redis/lean-connection.js';
import { RedisStore } from '../../src/stores/redis/redis.js';
import { command } from '../../src/stores/redis/resp.js';
import type { TxOp } from '../../src/stores/store.js';
import { RedisServer, freePort, waitUntil, warnIfNoRedis } from '../helpers/redis-server.js';
import { storeContract } from './contract.js';

const POLICY = `
version: 1
rules:
  - name: per-account
    key: [account]
    limit: 3/1m
`;

const op = (key: string, limit: number): TxOp => ({
  key: `lean|${key}`,
  tag: `lean|${key}`,
  algorithm: 'fixed-window',
  params: { limit, windowMs: 60_000 } as Params,
  cost: 1,
  mode: 'take',
  shadow: false,
  chargeRejected: false,
  blockMs: 0,
  blockOnly: false,
});

let n = 0;
const prefix = () => `lean${process.pid}-${n++}:`;

describe.skipIf(!warnIfNoRedis('Redis lean connection'))('Redis lean connection', () => {
  let server: RedisServer;
  const stores: RedisStore[] = [];
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await server?.destroy();
  });
  const open = async (url: string, opts: Parameters<typeof connectRedisStore>[1] = {}) => {
    const s = await connectRedisStore(url, { requireConnection: true, prefix: prefix(), timeoutMs: 2000, ...opts });
    stores.push(s);
    if (s.lean) await waitUntil('the lean connection', 5000, () => s.lean!.ready);
    return s;
  };
  const allowed = async (sluice: Sluice, account: string, times: number) => {
    const out: boolean[] = [];
    for (let i = 0; i < times; i++) out.push((await sluice.check({ account })).allowed);
    return out;
  };

  it('carries the transaction calls of a single node, deciding as through ioredis', async () => {
    const store = await open(server.url);
    const sluice = await Sluice.open({ policy: POLICY, store });
    expect(await allowed(sluice, 'a', 5)).toEqual([true, true, true, false, false]);
    expect(store.lean?.ready).toBe(true);
    expect(store.lean!.stats.calls).toBe(4); // the fifth is answered by the engine's refused-keys cache
    const io = await open(server.url, { leanConnection: false });
    expect(io.lean).toBeUndefined();
    expect((await open(`${server.url}?lean=0`)).lean).toBeUndefined();
    expect(await allowed(await Sluice.open({ policy: POLICY, store: io }), 'a', 5)).toEqual([true, true, true, false, false]);
  });

  it('logs in with the password (and the ACL user) and selects the database of the connection string', async () => {
    const locked = await RedisServer.start();
    locked.cli('CONFIG', 'SET', 'requirepass', 'sekret');
    try {
      const admin = new Redis({ port: locked.port, host: '127.0.0.1', password: 'sekret' });
      await admin.call('ACL', 'SETUSER', 'alice', 'on', '>al1ce', '~*', '&*', '+@all');
      for (const [url, db] of [
        [`redis://:sekret@127.0.0.1:${locked.port}/5`, 5],
        [`redis://alice:al1ce@127.0.0.1:${locked.port}/7`, 7],
      ] as const) {
        const p = prefix();
        const store = await open(url, { prefix: p });
        const sluice = await Sluice.open({ policy: POLICY, store });
        expect(await allowed(sluice, 'b', 4)).toEqual([true, true, true, false]);
        expect(store.lean!.stats.calls).toBe(4);
        await admin.select(db);
        expect((await admin.keys(`${p}*`)).length).toBeGreaterThan(0);
        await admin.select(0);
        expect(await admin.keys(`${p}*`)).toEqual([]);
      }
      admin.disconnect();
    } finally {
      for (const s of stores.splice(0)) await s.close();
      await locked.destroy();
    }
  });

  it('a refused login leaves the lean connection down and the store on ioredis, which reports the refusal', async () => {
    const locked = await RedisServer.start();
    locked.cli('CONFIG', 'SET', 'requirepass', 'sekret');
    try {
      const errors: unknown[] = [];
      const lean = new LeanConnection({ host: '127.0.0.1', port: locked.port, password: 'wrong', timeoutMs: 1000, connectTimeoutMs: 1000, onError: (e) => errors.push(e) });
      lean.connect();
      await waitUntil('the refused AUTH', 5000, () => errors.length > 0);
      expect(lean.ready).toBe(false);
      expect(String(errors[0])).toMatch(/WRONGPASS|invalid password/i);
      await expect(lean.call(command(['PING']))).rejects.toThrow(/not ready/);
      lean.close();
    } finally {
      await locked.destroy();
    }
  });

  it('Redis killed and restarted: the lean connection reconnects, the library is loaded again, decisions come from Redis', async () => {
    const own = await RedisServer.start();
    try {
      const store = await open(own.url, { timeoutMs: 500 });
      const sluice = await Sluice.open({ policy: POLICY, store });
      expect(await allowed(sluice, 'c', 2)).toEqual([true, true]);
      expect(store.lean!.stats.connects).toBe(1);
      await own.stop('SIGKILL');
      // While it is down, checks answer (from the fallback) and nothing throws.
      for (let i = 0; i < 5; i++) await sluice.check({ account: 'down' });
      await own.start();
      // A restarted server without persistence has neither the states nor the library.
      await waitUntil('decisions from Redis again', 10_000, async () => {
        const d = await sluice.check({ account: 'warm' });
        return store.lean!.stats.connects === 2 && d.rules.every((r) => r.fallback !== true);
      });
      const before = store.lean!.stats.calls;
      expect(await allowed(sluice, 'c2', 4)).toEqual([true, true, true, false]);
      expect(store.lean!.stats.calls - before).toBe(4);
      expect(store.callKind).toBe('function');
    } finally {
      await own.destroy();
    }
  });

  it('FUNCTION FLUSH under the lean connection: the library is loaded again and the call goes through', async () => {
    const store = await open(server.url);
    expect((await store.apply([op('f', 5)], 0))[0].allowed).toBe(true);
    expect((await store.apply([op('f', 5)], 0))[0].allowed).toBe(true);
    expect(store.lean!.ready).toBe(true);
    const admin = new Redis(server.url);
    await admin.call('FUNCTION', 'FLUSH');
    const calls = store.lean!.stats.calls;
    const r = await store.apply([op('f', 5)], 0);
    expect(r[0]).toMatchObject({ allowed: true, remaining: 2, limit: 5 });
    expect(store.lean!.stats.calls - calls).toBe(2); // refused (function missing), then again after FUNCTION LOAD
    admin.disconnect();
  });

  it('a hung Redis (SIGSTOP): calls settle within the timeout; thawed, every later reply reaches its own call', async () => {
    const own = await RedisServer.start();
    try {
      const store = await open(own.url, { timeoutMs: 300 });
      await store.apply([op('warm', 10)], 0);
      await store.apply([op('warm', 10)], 0);
      expect(store.lean!.ready).toBe(true);
      own.pause();
      const t0 = Date.now();
      const stuck = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => store.apply([op(`stuck${i}`, 10)], 0)));
      expect(stuck.every((s) => s.status === 'rejected')).toBe(true);
      expect(Date.now() - t0).toBeLessThan(5000); // generous: bounded, not a timing claim
      expect(store.lean!.stats.timeouts).toBeGreaterThan(0);
      own.resume();
      await store.lean!.idle();
      // Keys checked different numbers of times, all at once, each with its own limit: a reply
      // handed to the wrong call would show another key's limit or count.
      const got = await Promise.all(
        Array.from({ length: 6 }, async (_, i) => {
          let last;
          for (let j = 0; j <= i; j++) last = (await store.apply([op(`after${i}`, 20 + i)], 0))[0];
          return last!;
        }),
      );
      got.forEach((r, i) => expect(r).toMatchObject({ allowed: true, limit: 20 + i, remaining: 20 + i - (i + 1) }));
    } finally {
      await own.destroy();
    }
  });

  it('idle() waits for the calls already sent (a reload carry-over reads after them)', async () => {
    const store = await open(server.url);
    let answered = 0;
    const calls = Array.from({ length: 20 }, () => store.lean!.call(command(['PING'])).then(() => answered++));
    expect(answered).toBe(0);
    await store.lean!.idle();
    expect(answered).toBe(20);
    await Promise.all(calls);
    await store.lean!.idle(); // nothing in flight: at once
  });

  it('stays off for TLS, Cluster-style options, Sentinel and an ioredis key prefix', () => {
    const cases = [{ tls: {} }, { keyPrefix: 'x:' }, { sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'm' }, { path: '/tmp/nowhere.sock' }];
    for (const o of cases) {
      const client = new Redis({ lazyConnect: true, ...o });
      const store = new RedisStore(client, { instances: { intervalMs: 0 } });
      expect(store.lean).toBeUndefined();
      client.disconnect();
    }
  });
});

describe('lean connection against a peer that is not Redis', () => {
  let peer: Server;
  let port: number;
  let answer: string;
  let connections = 0;
  beforeAll(async () => {
    port = await freePort();
    peer = createServer((s) => {
      connections++;
      s.on('data', () => s.write(answer));
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => peer.listen(port, '127.0.0.1', () => r()));
  });
  afterAll(() => new Promise<void>((r) => peer.close(() => r())));

  it('garbage for a reply: the call rejects, the socket is dropped, and the next connect() is a new connection', async () => {
    const errors: unknown[] = [];
    const lean = new LeanConnection({ host: '127.0.0.1', port, timeoutMs: 1000, connectTimeoutMs: 1000, onError: (e) => errors.push(e) });
    lean.connect();
    await waitUntil('ready', 2000, () => lean.ready);
    answer = 'HTTP/1.1 400 Bad Request\r\n\r\n';
    await expect(lean.call(command(['PING']))).rejects.toThrow(/closed/);
    expect(String(errors[0])).toMatch(/unknown type byte/);
    expect(lean.ready).toBe(false);
    const before = connections;
    answer = '+PONG\r\n';
    lean.connect();
    await waitUntil('ready again', 2000, () => lean.ready);
    await expect(lean.call(command(['PING']))).resolves.toBe('PONG');
    expect(connections).toBe(before + 1);
    lean.close();
  });

  it('two replies for one call: the extra one drops the connection rather than answer the next call with it', async () => {
    const lean = new LeanConnection({ host: '127.0.0.1', port, timeoutMs: 1000, connectTimeoutMs: 1000, onError: () => undefined });
    lean.connect();
    await waitUntil('ready', 2000, () => lean.ready);
    answer = ':1\r\n:2\r\n';
    await expect(lean.call(command(['PING']))).resolves.toBe(1);
    await waitUntil('dropped', 2000, () => !lean.ready);
    lean.close();
  });
});

describe.skipIf(!warnIfNoRedis('store contract, Redis single node through ioredis only'))('redis single node, ioredis only', () => {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.destroy();
  });
  storeContract('redis single node (ioredis only)', () => connectRedisStore(server!.url, { prefix: prefix(), clock: 'client', requireConnection: true, timeoutMs: 2000, leanConnection: false }));
});
