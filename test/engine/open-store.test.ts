/**
 * Sluice.open takes the same store strings as openStore and the CLI's --store: a string
 * opens that store for real (a misspelt one is a clear error, never a silent fallback).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { RedisServer, warnIfNoRedis } from '../helpers/redis-server.js';

const policy = { rules: [{ name: 'per-account', key: ['account'], limit: '2/1m' }] };

describe('Sluice.open with a store string', () => {
  it('opens a SQLite file that a second engine on the same file shares', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-open-'));
    try {
      const a = await Sluice.open({ policy, store: `sqlite:${join(dir, 's.db')}` });
      expect(a.store.name).toBe('sqlite');
      expect((await a.check({ account: 'acme' })).allowed).toBe(true);
      await a.close();
      const b = await Sluice.open({ policy, store: `sqlite:${join(dir, 's.db')}` });
      expect((await b.check({ account: 'acme' })).allowed).toBe(true);
      expect((await b.check({ account: 'acme' })).allowed).toBe(false); // the first engine's charge was kept
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown store string with the forms it accepts', async () => {
    await expect(Sluice.open({ policy, store: 'mongodb://h' })).rejects.toThrow(/Unknown store "mongodb:\/\/h": use memory, sqlite:<file>, redis:\/\//);
    await expect(Sluice.open({ policy, store: 'memroy' })).rejects.toThrow(/Unknown store "memroy"/);
  });

  const hasRedis = warnIfNoRedis('Sluice.open with a redis:// string');
  describe.runIf(hasRedis)('redis://', () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await RedisServer.start();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it('decides in Redis, so two engines share one limit', async () => {
      const errors: unknown[] = [];
      const a = await Sluice.open({ policy, store: redis.url, onStoreError: (e) => errors.push(e) });
      const b = await Sluice.open({ policy, store: redis.url, onStoreError: (e) => errors.push(e) });
      expect(a.store.name).toBe('redis');
      const answers = [await a.check({ account: 'acme' }), await b.check({ account: 'acme' }), await a.check({ account: 'acme' })];
      expect(answers.map((d) => d.allowed)).toEqual([true, true, false]);
      expect(errors).toEqual([]);
      await a.close();
      await b.close();
    });
  });
});
