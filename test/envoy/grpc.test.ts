import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvoyRateLimiter, loadEnvoyConfig, loadEnvoyProtos, startEnvoyGrpc, type EnvoyGrpcServer } from '../../src/envoy/index.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { FakeClock } from './support.js';

const CONFIG = `domain: edge
descriptors:
  - key: remote_address
    rate_limit:
      unit: minute
      requests_per_unit: 2
  - key: remote_address
    value: 50.0.0.5
    rate_limit:
      unit: second
      requests_per_unit: 0
`;

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: any) => void) => void;

describe('envoy gRPC service over a socket', () => {
  let server: EnvoyGrpcServer;
  let rls: grpc.Client & { ShouldRateLimit: Unary };
  let health: grpc.Client & { Check: Unary };
  const clock = new FakeClock();
  const store = new MemoryStore();

  const call = (c: { [k: string]: any }, method: string, req: unknown): Promise<any> =>
    new Promise((resolve, reject) => (c[method] as Unary).call(c, req, (err, res) => (err ? reject(err) : resolve(res))));

  beforeAll(async () => {
    const limiter = new EnvoyRateLimiter(loadEnvoyConfig(CONFIG), store, clock, { requestLimits: true }); // the override test below needs them
    server = await startEnvoyGrpc({ port: 0, limiter });
    expect(server.port).toBeGreaterThan(0);
    const pkg = (await loadEnvoyProtos()) as any;
    const target = `127.0.0.1:${server.port}`;
    rls = new pkg.envoy.service.ratelimit.v3.RateLimitService(target, grpc.credentials.createInsecure());
    health = new pkg.grpc.health.v1.Health(target, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    rls?.close();
    health?.close();
    await server?.close();
  });

  it('answers ShouldRateLimit: OK, then OVER_LIMIT', async () => {
    const req = { domain: 'edge', descriptors: [{ entries: [{ key: 'remote_address', value: '10.0.0.1' }] }] };
    const ok = await call(rls, 'ShouldRateLimit', req);
    expect(ok.overall_code).toBe('OK');
    expect(ok.statuses).toHaveLength(1);
    expect(ok.statuses[0]).toMatchObject({ code: 'OK', current_limit: { requests_per_unit: 2, unit: 'MINUTE' }, limit_remaining: 1, duration_until_reset: { seconds: 60 } });
    expect(ok.response_headers_to_add).toContainEqual(expect.objectContaining({ key: 'x-ratelimit-remaining', value: '1' }));
    await call(rls, 'ShouldRateLimit', req);
    const over = await call(rls, 'ShouldRateLimit', req);
    expect(over.overall_code).toBe('OVER_LIMIT');
    expect(over.statuses[0].code).toBe('OVER_LIMIT');
    expect(over.response_headers_to_add).toContainEqual(expect.objectContaining({ key: 'retry-after', value: '60' }));
  });

  it('several descriptors, the descriptor-level hits_addend wrapper (0 = look only) and a limit override', async () => {
    const res = await call(rls, 'ShouldRateLimit', {
      domain: 'edge',
      hits_addend: 1,
      descriptors: [
        { entries: [{ key: 'remote_address', value: '10.0.0.9' }], hits_addend: { value: 0 } },
        { entries: [{ key: 'remote_address', value: '10.0.0.8' }], limit: { requests_per_unit: 5, unit: 'HOUR' } },
        { entries: [{ key: 'remote_address', value: '50.0.0.5' }], hits_addend: { value: 0 } },
        { entries: [{ key: 'unknown', value: 'x' }] },
      ],
    });
    expect(res.overall_code).toBe('OK');
    expect(res.statuses.map((s: any) => [s.code, s.limit_remaining ?? 0])).toEqual([
      ['OK', 2],
      ['OK', 4],
      ['OK', 0],
      ['OK', 0],
    ]);
    expect(res.statuses[1].current_limit).toMatchObject({ requests_per_unit: 5, unit: 'HOUR' });
    expect(res.statuses[3].current_limit).toBeFalsy();
  });

  it('refuses an empty domain with INVALID_ARGUMENT', async () => {
    await expect(call(rls, 'ShouldRateLimit', { domain: '', descriptors: [{ entries: [{ key: 'a', value: 'b' }] }] })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/domain must not be empty/),
    });
    await expect(call(rls, 'ShouldRateLimit', { domain: 'edge', descriptors: [] })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it('serves grpc.health.v1 Check', async () => {
    expect(await call(health, 'Check', {})).toEqual({ status: 'SERVING' });
    expect(await call(health, 'Check', { service: 'envoy.service.ratelimit.v3.RateLimitService' })).toEqual({ status: 'SERVING' });
    await expect(call(health, 'Check', { service: 'nope' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });
});
