/**
 * Envoy through the engine (src/envoy/compile.ts, src/engine/outside-rules.ts): descriptors
 * are engine rules in an "envoy:" namespace, so a policy rule never shares their counters;
 * while the store is down rate_limit.on_store_error is honoured as a policy rule's is; the
 * engine's decisions carry the Envoy domain and descriptor for the metrics.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/engine/decision.js';
import { outsideRule } from '../../src/engine/outside-rules.js';
import { Sluice } from '../../src/engine/sluice.js';
import { EnvoyRateLimiter, EnvoyStoreError, loadEnvoyConfig } from '../../src/envoy/index.js';
import { loadPolicy } from '../../src/policy/load.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { SqliteStore } from '../../src/stores/sqlite.js';
import type { Store } from '../../src/stores/store.js';
import { FakeClock, ON_STORE_ERROR_CONFIG, req, T0 } from './support.js';

const WEB = `domain: web
descriptors:
  - key: remote_address
    rate_limit: { unit: minute, requests_per_unit: 1 }
`;

/** A memory store whose apply fails while `down` is set. */
function flakyStore(): { store: Store; setDown(v: boolean): void; calls: () => number } {
  const inner = new MemoryStore();
  let down = false;
  let calls = 0;
  const store = new Proxy(inner, {
    get(target, p, r) {
      if (p === 'apply') return (ops: never, now: number) => (calls++, down ? Promise.reject(new Error('connection refused')) : Promise.resolve(inner.apply(ops, now)));
      return Reflect.get(target, p, r);
    },
  }) as Store;
  return { store, setDown: (v) => (down = v), calls: () => calls };
}

describe('Envoy descriptors in their own namespace', () => {
  // The memory store names states by namespace and id; SQLite (as Redis) by the whole key, where the old scheme collided.
  it.each(['memory', 'sqlite'])('a policy rule named "envoy" whose key spells an Envoy descriptor shares no counter with it (%s)', async (kind) => {
    // Under the old key scheme both were "envoy|web|remote_address=1.2.3.4".
    const policy = loadPolicy({ version: 1, rules: [{ name: 'envoy', key: ['domain', 'entry'], limit: '1/1m' }] });
    const clock = new FakeClock();
    const dir = mkdtempSync(join(tmpdir(), 'sluice-envoy-ns-'));
    const store = kind === 'memory' ? new MemoryStore() : new SqliteStore(join(dir, 'ns.db'), { sweepIntervalMs: 0 });
    const sluice = Sluice.over(store, { policy, clock: clock.now });
    try {
      const limiter = new EnvoyRateLimiter(loadEnvoyConfig(WEB), sluice);
      const subject = { domain: 'web', entry: 'remote_address=1.2.3.4' };
      expect((await sluice.check(subject)).allowed).toBe(true);
      const envoy = await limiter.shouldRateLimit(req('web', [['remote_address', '1.2.3.4']]));
      expect(envoy.overall_code).toBe('OK');
      expect(envoy.statuses[0].limit_remaining).toBe(0);
      // Each is now at its own limit, and only its own.
      expect((await sluice.check(subject)).allowed).toBe(false);
      expect((await limiter.shouldRateLimit(req('web', [['remote_address', '1.2.3.4']]))).overall_code).toBe('OVER_LIMIT');
      expect((await limiter.shouldRateLimit(req('web', [['remote_address', '5.6.7.8']]))).overall_code).toBe('OK');
    } finally {
      await sluice.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an outside rule without a namespace is refused (it could collide with a policy rule)', () => {
    expect(() => outsideRule({ name: 'envoy', algorithm: 'fixed-window', params: { limit: 1, windowMs: 1000 }, shadow: false, onStoreError: 'open', blockMs: 0 })).toThrow(/namespaced/);
  });

  it('each decision names the domain and the descriptor (rule envoy:<domain>:<path>) for sluice_decisions_total', async () => {
    const seen: { rule: string | undefined; action: string }[] = [];
    const onDecision = (d: Decision) => seen.push({ rule: d.rule, action: d.action });
    const limiter = new EnvoyRateLimiter(loadEnvoyConfig(WEB), new MemoryStore(), new FakeClock(), { onDecision });
    await limiter.shouldRateLimit(req('web', [['remote_address', 'a']]));
    await limiter.shouldRateLimit(req('web', [['remote_address', 'a']]));
    await limiter.shouldRateLimit(req('nowhere', [['remote_address', 'a']]));
    expect(seen).toEqual([
      { rule: 'envoy:web:remote_address', action: 'allow' },
      { rule: 'envoy:web:remote_address', action: 'reject' },
      { rule: undefined, action: 'allow' }, // no limit: counted as rule "none"
    ]);
  });

  it('a requests_per_unit 0 descriptor refuses in the counted decision too', async () => {
    const seen: (string | undefined)[] = [];
    const config = `domain: web
descriptors:
  - key: remote_address
    rate_limit: { unit: minute, requests_per_unit: 5 }
  - key: banned
    rate_limit: { unit: second, requests_per_unit: 0 }
`;
    const limiter = new EnvoyRateLimiter(loadEnvoyConfig(config), new MemoryStore(), new FakeClock(), { onDecision: (d) => seen.push(`${d.rule}/${d.action}`) });
    const r = await limiter.shouldRateLimit(req('web', [['remote_address', 'a']], [['banned', 'x']]));
    expect(r.overall_code).toBe('OVER_LIMIT');
    expect(r.statuses[0].limit_remaining).toBe(5); // not charged: the request was refused
    expect(seen).toEqual(['envoy:web:banned/reject']);
  });
});

describe('rate_limit.on_store_error while the store is down', () => {
  const CONFIG = ON_STORE_ERROR_CONFIG;

  it('open: decided by the engine’s local fallback (the limit still holds); closed: OVER_LIMIT; neither: EnvoyStoreError', async () => {
    const { store, setDown } = flakyStore();
    const limiter = new EnvoyRateLimiter(loadEnvoyConfig(CONFIG), store, () => T0);
    setDown(true);
    const open = () => limiter.shouldRateLimit(req('edge', [['open_key', 'a']]));
    expect((await open()).statuses[0]).toMatchObject({ code: 'OK', limit_remaining: 1 });
    expect((await open()).statuses[0]).toMatchObject({ code: 'OK', limit_remaining: 0 });
    expect((await open()).overall_code).toBe('OVER_LIMIT');
    const closed = await limiter.shouldRateLimit(req('edge', [['closed_key', 'a']]));
    expect(closed.overall_code).toBe('OVER_LIMIT');
    expect(closed.statuses[0]).toMatchObject({ code: 'OVER_LIMIT', limit_remaining: 0 });
    await expect(limiter.shouldRateLimit(req('edge', [['plain_key', 'a']]))).rejects.toThrow(EnvoyStoreError);
    // The engine's counters see Envoy's decisions as they see policy rules'.
    expect(limiter.engine.counters.fallbackDecisions).toBe(3);
    expect(limiter.engine.counters.closedDecisions).toBeGreaterThanOrEqual(2);
    expect(limiter.engine.counters.storeErrors + limiter.engine.counters.shortCircuited).toBe(5);
  });

  it('the limiter option sets it for limits without their own; a limit’s own wins', async () => {
    const { store, setDown } = flakyStore();
    const limiter = new EnvoyRateLimiter(loadEnvoyConfig(CONFIG), store, () => T0, { onStoreError: 'open' });
    setDown(true);
    expect((await limiter.shouldRateLimit(req('edge', [['plain_key', 'a']]))).overall_code).toBe('OK');
    expect((await limiter.shouldRateLimit(req('edge', [['closed_key', 'a']]))).overall_code).toBe('OVER_LIMIT');
  });

  it('a Sluice handed in is shared: one breaker for the policy and Envoy', async () => {
    const { store, setDown, calls } = flakyStore();
    const sluice = Sluice.over(store, { clock: () => T0 });
    const limiter = new EnvoyRateLimiter(loadEnvoyConfig(CONFIG), sluice);
    expect(limiter.breaker).toBe(sluice.breaker);
    setDown(true);
    for (let i = 0; i < 5; i++) await limiter.shouldRateLimit(req('edge', [['open_key', `k${i}`]]));
    expect(calls()).toBe(3); // the breaker opened after 3 failures; the rest skipped the store
    expect(sluice.breaker.trips).toBe(1);
  });

  it('an on_store_error other than open or closed is a config error with its path', () => {
    expect(() => loadEnvoyConfig(CONFIG.replace('on_store_error: closed', 'on_store_error: maybe'))).toThrow(/on_store_error is open .* or closed/);
  });
});

describe('on_store_error counts only the limits the store was asked about', () => {
  it('a requests_per_unit 0 limit without on_store_error (decided without the store) does not turn a fallback into a failure', async () => {
    const config = `domain: edge
descriptors:
  - key: open_key
    rate_limit: { unit: minute, requests_per_unit: 2, on_store_error: open }
  - key: banned
    rate_limit: { unit: second, requests_per_unit: 0 }
`;
    const { store, setDown } = flakyStore();
    const limiter = new EnvoyRateLimiter(loadEnvoyConfig(config), store, () => T0);
    setDown(true);
    const r = await limiter.shouldRateLimit(req('edge', [['open_key', 'a']], { entries: [['banned', 'x']], hits: 0 }));
    expect(r.overall_code).toBe('OK');
    expect(r.statuses[0]).toMatchObject({ code: 'OK', limit_remaining: 1 });
  });
});
