/**
 * Envoy requests cost at most linear time, and sizes are bounded as /v1/check bounds a subject:
 * a request past ENVOY_REQUEST_LIMITS is refused whole (INVALID_ARGUMENT) before any work or any
 * key is stored; headers for many descriptors of one name build in linear time; a call that
 * ended (deadline passed, cancelled) before it was decided is not charged.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callLiveness } from '../../src/envoy/grpc.js';
import { ENVOY_REQUEST_LIMITS, uniqueNames } from '../../src/envoy/limiter.js';
import { EnvoyCallEndedError, EnvoyRequestError } from '../../src/envoy/types.js';
import { EnvoyRateLimiter, loadEnvoyConfig, loadEnvoyProtos, startEnvoyGrpc, type EnvoyGrpcServer } from '../../src/envoy/index.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { FakeClock, limiterFor, req } from './support.js';

const CONFIG = `domain: edge
descriptors:
  - key: remote_address
    rate_limit:
      name: per-ip
      unit: day
      requests_per_unit: 100
`;

const many = (n: number) => req('edge', ...Array.from({ length: n }, (_, i) => [['remote_address', `10.0.${i >> 8}.${i & 255}`]]));

type Unary = (req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

describe('envoy request bounds', () => {
  it('refuses descriptors, entries and values past the limits, before storing anything', async () => {
    const { limiter, store } = limiterFor(CONFIG);
    await expect(limiter.shouldRateLimit(many(ENVOY_REQUEST_LIMITS.descriptors + 1))).rejects.toThrow(/1001 descriptors; at most 1000/);
    await expect(limiter.shouldRateLimit(many(10_000))).rejects.toBeInstanceOf(EnvoyRequestError);
    const wide = req('edge', Array.from({ length: ENVOY_REQUEST_LIMITS.entries + 1 }, (_, i) => [`k${i}`, 'v']));
    await expect(limiter.shouldRateLimit(wide)).rejects.toThrow(/descriptors\[0\] has 65 entries; at most 64/);
    await expect(limiter.shouldRateLimit(req('edge', [['remote_address', 'x'.repeat(4 * 1024 * 1024)]]))).rejects.toThrow(/value is 4194304 characters; at most 1024/);
    await expect(limiter.shouldRateLimit(req('edge', [['k'.repeat(1025), 'v']]))).rejects.toThrow(/key is 1025 characters/);
    await expect(limiter.shouldRateLimit(req('e'.repeat(1025), [['k', 'v']]))).rejects.toThrow(/domain is 1025 characters/);
    expect(store.keyCount).toBe(0);
    // At the limits, answered.
    const ok = await limiter.shouldRateLimit(req('edge', [['remote_address', 'x'.repeat(1024)]]));
    expect(ok.overall_code).toBe('OK');
  });

  it('names header items uniquely in linear time: lookups grow with the names, not their square', () => {
    class CountingSet extends Set<string> {
      lookups = 0;
      override has(v: string): boolean {
        this.lookups++;
        return super.has(v);
      }
    }
    for (const n of [1000, 16_000]) {
      const taken = new CountingSet();
      const unique = uniqueNames(taken);
      const names = new Set<string>();
      // One name over and over, and a literal "#2" that the numbering must step around.
      for (let i = 0; i < n; i++) names.add(unique(i % 3 === 0 ? 'per-ip#2' : 'per-ip'));
      expect(names.size).toBe(n);
      expect(taken.lookups).toBeLessThan(3 * n);
    }
  });

  it('builds the headers of many descriptors of one name', async () => {
    const { limiter } = limiterFor(CONFIG);
    const time = async (n: number) => {
      const samples: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        const res = await limiter.shouldRateLimit(many(n));
        samples.push(performance.now() - t);
        // Every descriptor shows under its own name: per-ip, per-ip#2, …
        expect(res.response_headers_to_add.find((h) => h.key === 'ratelimit-policy')!.value.split(', ')).toHaveLength(n);
      }
      return samples.sort((a, b) => a - b)[2];
    };
    await time(1000);
  });

  it('does not charge a call that ended before it was decided', async () => {
    const { limiter, store } = limiterFor(CONFIG);
    const one = req('edge', [['remote_address', '10.9.9.9']]);
    for (const reason of ['deadline', 'cancelled'] as const) {
      for (let i = 0; i < 300; i++) await expect(limiter.shouldRateLimit(one, () => reason)).rejects.toBeInstanceOf(EnvoyCallEndedError);
    }
    expect(store.keyCount).toBe(0);
    const live = await limiter.shouldRateLimit(one, () => 'live');
    expect(live.statuses[0].limit_remaining).toBe(99);
  });

  it('tells a gRPC call that ended from one that is live', () => {
    const call = (cancelled: boolean, deadline: Date | number) => ({ cancelled, getDeadline: () => deadline }) as unknown as grpc.ServerUnaryCall<unknown, unknown>;
    expect(callLiveness(call(false, Infinity))).toBe('live');
    expect(callLiveness(call(false, new Date(Date.now() + 60_000)))).toBe('live');
    expect(callLiveness(call(false, new Date(Date.now() - 1)))).toBe('deadline');
    expect(callLiveness(call(false, Date.now() - 1))).toBe('deadline');
    expect(callLiveness(call(true, Infinity))).toBe('cancelled');
  });
});

describe('envoy request bounds over gRPC', () => {
  let server: EnvoyGrpcServer;
  let rls: grpc.Client & { ShouldRateLimit: Unary };
  const store = new MemoryStore();
  const call = (r: unknown, opts: grpc.CallOptions = {}) => new Promise<unknown>((resolve, reject) => rls.ShouldRateLimit(r, opts, (err, res) => (err ? reject(err) : resolve(res))));

  beforeAll(async () => {
    server = await startEnvoyGrpc({ port: 0, limiter: new EnvoyRateLimiter(loadEnvoyConfig(CONFIG), store, new FakeClock()) });
    const pkg = (await loadEnvoyProtos()) as any;
    rls = new pkg.envoy.service.ratelimit.v3.RateLimitService(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    rls?.close();
    await server?.close();
  });

  it('answers 10,000 descriptors with INVALID_ARGUMENT, and a call beside it as usual', async () => {
    const [big, small] = await Promise.allSettled([call(many(10_000)), call(req('edge', [['remote_address', '10.1.1.1']]))]);
    expect(big.status).toBe('rejected');
    expect((big as PromiseRejectedResult).reason.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((big as PromiseRejectedResult).reason.details).toMatch(/10000 descriptors; at most 1000/);
    expect(small.status).toBe('fulfilled');
    expect(store.keyCount).toBe(1);
  });
});

describe('envoy gRPC drains on close', () => {
  it('answers the call in flight, refuses new ones, and closes by the deadline', async () => {
    const memory = new MemoryStore();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inStore = new Promise<void>((r) => (entered = r));
    // A store that holds the first decision until the test lets it go: a call in flight at close.
    const held = Object.assign(Object.create(memory) as MemoryStore, {
      apply: async (ops: Parameters<MemoryStore['apply']>[0], now: number) => {
        entered();
        await gate;
        return memory.apply(ops, now);
      },
    });
    const server = await startEnvoyGrpc({ port: 0, limiter: new EnvoyRateLimiter(loadEnvoyConfig(CONFIG), held, new FakeClock()) });
    const pkg = (await loadEnvoyProtos()) as any;
    const client = new pkg.envoy.service.ratelimit.v3.RateLimitService(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) as grpc.Client & { ShouldRateLimit: Unary };
    const call = (r: unknown) => new Promise<any>((resolve, reject) => client.ShouldRateLimit(r, {}, (err, res) => (err ? reject(err) : resolve(res))));
    try {
      const inFlight = call(req('edge', [['remote_address', '10.2.2.2']]));
      await inStore;
      const closed = server.close(5000);
      release();
      expect((await inFlight).overall_code).toBe('OK');
      await closed;
      await expect(call(req('edge', [['remote_address', '10.2.2.3']]))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      client.close();
    }
  });
});
