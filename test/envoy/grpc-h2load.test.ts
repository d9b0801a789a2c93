/**
 * The gRPC service under h2load (Debian's nghttp2-client, the load client of bench/grpc.mjs):
 * many connections, many concurrent streams each, every call answered 200 with 0 errors, and the
 * decisions all counted. Counts only, no timing.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EnvoyRateLimiter, loadEnvoyConfig, startEnvoyGrpc } from '../../src/envoy/index.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { FakeClock } from './support.js';

const H2LOAD = '/usr/bin/h2load';
const HAVE_H2LOAD = existsSync(H2LOAD);
if (!HAVE_H2LOAD) {
  const bar = '!'.repeat(72);
  console.warn(`\n${bar}\n!! SKIPPED: envoy gRPC under h2load\n!! ${H2LOAD} not found, so the h2load test did NOT run.\n!! Install it with: apt-get install nghttp2-client\n${bar}\n`);
}

// RateLimitRequest { domain: "edge", descriptors: [{ entries: [{ key: "remote_address", value: "10.0.0.1" }] }] }, framed.
const REQUEST = Buffer.from('00000000240a0465646765121c0a1a0a0e72656d6f74655f61646472657373120831302e302e302e31', 'hex');

describe.skipIf(!HAVE_H2LOAD)('envoy gRPC under h2load', () => {
  it('answers 4,000 calls over 4 connections × 16 streams with 0 errors, each one decided', async () => {
    const store = new MemoryStore();
    const limiter = new EnvoyRateLimiter(loadEnvoyConfig('domain: edge\ndescriptors:\n  - key: remote_address\n    rate_limit: { unit: hour, requests_per_unit: 1000000 }\n'), store, new FakeClock());
    const server = await startEnvoyGrpc({ port: 0, limiter });
    const dir = mkdtempSync(join(tmpdir(), 'sluice-h2load-'));
    try {
      const body = join(dir, 'request.bin');
      writeFileSync(body, REQUEST);
      const url = `http://127.0.0.1:${server.port}/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit`;
      const { stdout } = await promisify(execFile)(H2LOAD, ['-n', '4000', '-c', '4', '-m', '16', '-d', body, '-H', 'content-type: application/grpc', '-H', 'te: trailers', url], { timeout: 60_000 });
      expect(stdout).toMatch(/requests: 4000 total, 4000 started, 4000 done, 4000 succeeded, 0 failed, 0 errored, 0 timeout/);
      expect(stdout).toMatch(/status codes: 4000 2xx, 0 3xx, 0 4xx, 0 5xx/);
      const res = await limiter.shouldRateLimit({ domain: 'edge', descriptors: [{ entries: [{ key: 'remote_address', value: '10.0.0.1' }] }] });
      expect(res.statuses[0].limit_remaining).toBe(1_000_000 - 4001);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await server.close();
    }
  });
});
