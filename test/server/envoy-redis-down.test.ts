/**
 * An Envoy-only service on a real Redis that is killed: each limit's rate_limit.on_store_error
 * is honoured on POST /json and on gRPC as a policy rule's is — open: the engine's local
 * fallback decides (and its limit still holds), closed: OVER_LIMIT, unset: the failure is
 * answered (503 / UNAVAILABLE) for envoy's failure_mode_deny — and /metrics counts the
 * decisions under the Envoy domain and descriptor, with the store failures.
 */
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvoyProtos } from '../../src/envoy/index.js';
import { ON_STORE_ERROR_CONFIG } from '../envoy/support.js';
import { RedisServer, warnIfNoRedis } from '../helpers/redis-server.js';
import { start, stopAll, type Service } from './support.js';

const CONFIG = ON_STORE_ERROR_CONFIG;

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: any) => void) => void;
const body = (key: string, value: string) => ({ domain: 'edge', descriptors: [{ entries: [{ key, value }] }] });

describe.runIf(warnIfNoRedis('Envoy on a Redis that is killed'))('Envoy when Redis dies', () => {
  let redis: RedisServer;
  let svc: Service;
  const logLines: string[] = [];
  let rls: grpc.Client & { ShouldRateLimit: Unary };
  const grpcCall = (key: string, value: string): Promise<any> => new Promise((resolve, reject) => rls.ShouldRateLimit(body(key, value), (err, res) => (err ? reject(err) : resolve(res))));

  beforeAll(async () => {
    redis = await RedisServer.start();
    svc = await start({ envoyConfig: CONFIG, store: `${redis.url}?timeout=200`, grpcPort: 0, logger: pino({ level: 'warn' }, { write: (l: string) => void logLines.push(l) }) });
    const pkg = (await loadEnvoyProtos()) as any;
    rls = new pkg.envoy.service.ratelimit.v3.RateLimitService(`127.0.0.1:${svc.grpcPort}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    rls?.close();
    await stopAll();
    await redis?.destroy();
  });

  it('honours on_store_error on /json and gRPC, and /metrics labels the Envoy descriptors', async () => {
    expect((await svc.post('/json', body('open_key', 'up'))).status).toBe(200);
    expect((await grpcCall('closed_key', 'up')).overall_code).toBe('OK');
    expect(redis.cli('DBSIZE').trim()).not.toBe('0'); // decided in Redis while it was up

    await redis.stop('SIGKILL');

    // open: the local fallback decides, and the limit of 2 still holds.
    const first = await svc.post('/json', body('open_key', 'down'));
    expect(first.status).toBe(200);
    expect(first.body.statuses[0]).toMatchObject({ code: 'OK', limitRemaining: 1 });
    expect((await grpcCall('open_key', 'down')).overall_code).toBe('OK');
    const third = await svc.post('/json', body('open_key', 'down'));
    expect(third.status).toBe(429);

    // closed: refused, on both doors.
    const closed = await svc.post('/json', body('closed_key', 'down'));
    expect(closed.status).toBe(429);
    expect(closed.body.statuses[0].code).toBe('OVER_LIMIT');
    expect((await grpcCall('closed_key', 'down')).overall_code).toBe('OVER_LIMIT');

    // unset: the failure is answered, for envoy's failure_mode_deny.
    const plain = await svc.post('/json', body('plain_key', 'down'));
    expect(plain.status).toBe(503);
    expect(plain.body.error).toMatchObject({ code: 'store_unavailable' });
    expect(plain.text).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
    await expect(grpcCall('plain_key', 'down')).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });

    // The outage is logged once per interval with a count, not once per request (nor per door).
    expect(logLines.filter((l) => l.includes('store failed')).length).toBe(1);
    expect(logLines.filter((l) => l.includes('decision failed'))).toEqual([]);

    const metrics = (await svc.get('/metrics')).text;
    expect(metrics).toContain('sluice_decisions_total{rule="envoy:edge:open_key",action="allow"} 3');
    expect(metrics).toContain('sluice_decisions_total{rule="envoy:edge:open_key",action="reject"} 1');
    expect(metrics).toContain('sluice_decisions_total{rule="envoy:edge:closed_key",action="allow"} 1');
    expect(metrics).toContain('sluice_decisions_total{rule="envoy:edge:closed_key",action="reject"} 2');
    expect(metrics).toMatch(/sluice_store_errors_total \d*[1-9]/);
    expect(metrics).toMatch(/sluice_store_fallback_decisions_total \d*[1-9]/);
    expect(metrics).toMatch(/sluice_store_closed_decisions_total \d*[1-9]/);

    // --envoy-on-store-error open: limits without their own on_store_error fall back too.
    const lenient = await start({ envoyConfig: CONFIG, store: `${redis.url}?timeout=200`, envoyOnStoreError: 'open' });
    expect((await lenient.post('/json', body('plain_key', 'down'))).status).toBe(200);
    expect((await lenient.post('/json', body('closed_key', 'down'))).status).toBe(429); // a limit's own wins
  }, 60_000);
});
