import { MemoryStore } from '../../src/stores/memory.js';
import { EnvoyRateLimiter, loadEnvoyConfig, type EnvoyRateLimiterOptions, type RateLimitRequest } from '../../src/envoy/index.js';

/** 2025-01-01T00:00:00Z: aligned to every envoy unit up to a day, so fixed windows start here. */
export const T0 = Date.UTC(2025, 0, 1);

export class FakeClock {
  constructor(public t = T0) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export function limiterFor(yaml: string, opts?: EnvoyRateLimiterOptions): { limiter: EnvoyRateLimiter; clock: FakeClock; store: MemoryStore } {
  const clock = new FakeClock();
  const store = new MemoryStore();
  return { limiter: new EnvoyRateLimiter(loadEnvoyConfig(yaml), store, clock, opts), clock, store };
}

/** A request from [[key, value], …] lists. */
export function req(domain: string, ...descriptors: (string[][] | { entries: string[][]; hits?: number; limit?: { requests_per_unit: number; unit: string } })[]): RateLimitRequest {
  return {
    domain,
    descriptors: descriptors.map((d) => {
      const entries = (Array.isArray(d) ? d : d.entries).map(([key, value]) => ({ key, value }));
      if (Array.isArray(d)) return { entries };
      return { entries, ...(d.hits !== undefined ? { hits_addend: { value: d.hits } } : {}), ...(d.limit ? { limit: d.limit as never } : {}) };
    }),
  };
}

export function header(res: { response_headers_to_add: { key: string; value: string }[] }, name: string): string | undefined {
  return res.response_headers_to_add.find((h) => h.key === name)?.value;
}

/** Three limits, one per rate_limit.on_store_error (open, closed, unset), in domain "edge": keys open_key, closed_key, plain_key. */
export const ON_STORE_ERROR_CONFIG = `domain: edge
descriptors:
  - key: open_key
    rate_limit: { unit: minute, requests_per_unit: 2, on_store_error: open }
  - key: closed_key
    rate_limit: { unit: minute, requests_per_unit: 100, on_store_error: closed }
  - key: plain_key
    rate_limit: { unit: minute, requests_per_unit: 100 }
`;
