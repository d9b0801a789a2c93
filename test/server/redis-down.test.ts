/**
 * The service on a real Redis that goes away and comes back: fail-open rules are decided by
 * the local limiter, fail-closed ones answer 503 with a JSON body, /readyz says 503 while
 * Redis is down and 200 once it is back, and decisions return to Redis without a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, waitUntil, warnIfNoRedis } from '../helpers/redis-server.js';
import { start, stopAll, type Service } from './support.js';

const policy = {
  version: 1,
  rules: [
    { name: 'per-account', key: ['account'], limit: '3/1m', on_store_error: 'open' },
    { name: 'payments', match: { api: 'Pay' }, key: ['account'], limit: '100/1m', on_store_error: 'closed' },
  ],
};

describe.runIf(warnIfNoRedis('service with Redis killed and restarted'))('the service when Redis dies and comes back', () => {
  let redis: RedisServer;
  let svc: Service;

  beforeAll(async () => {
    redis = await RedisServer.start();
    svc = await start({ policy, store: `${redis.url}?timeout=200` });
  });
  afterAll(async () => {
    await stopAll();
    await redis?.destroy();
  });

  it('answers from Redis, then falls back open or refuses closed, then uses Redis again', async () => {
    expect((await svc.get('/readyz')).status).toBe(200);
    expect((await svc.post('/v1/check', { subject: { account: 'acme' } })).status).toBe(200);
    expect(redis.cli('DBSIZE').trim()).not.toBe('0');

    await redis.stop('SIGKILL');
    const ready = await svc.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toBeTypeOf('object');

    const open = await svc.post('/v1/check', { subject: { account: 'globex' } });
    expect(open.status).toBe(200);
    expect(open.body.allowed).toBe(true);
    const closed = await svc.post('/v1/check', { subject: { account: 'globex', api: 'Pay' } });
    expect(closed.status).toBe(503);
    expect(closed.body.error).toMatchObject({ code: 'store_unavailable' });
    expect(closed.body.error.message).toMatch(/\S/);
    expect(closed.text).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
    const metrics = (await svc.get('/metrics')).text;
    expect(metrics).toMatch(/sluice_store_errors_total \d*[1-9]/);
    expect(metrics).toMatch(/sluice_store_closed_decisions_total \d*[1-9]/);

    await redis.start();
    await waitUntil('/readyz back to 200', 20_000, async () => (await svc.get('/readyz')).status === 200);
    await waitUntil('the closed rule decided by Redis again', 20_000, async () => (await svc.post('/v1/check', { subject: { account: 'after', api: 'Pay' } })).status === 200);
    // The restarted Redis kept nothing (no persistence): acme starts over there, counted in Redis again.
    const before = Number(redis.cli('DBSIZE').trim());
    expect((await svc.post('/v1/check', { subject: { account: 'acme-2' } })).status).toBe(200);
    expect(Number(redis.cli('DBSIZE').trim())).toBeGreaterThan(before);
  }, 60_000);
});
