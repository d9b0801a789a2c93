import { describe, expect, it } from 'vitest';
import { EnvoyRules } from '../../src/envoy/compile.js';
import { OVERRIDE_RULES_KEPT, OverrideRules } from '../../src/envoy/override-rules.js';
import { header, limiterFor, req } from './support.js';

/**
 * Request-level overrides (`--envoy-request-limits`) compile their rule once per limit asked for,
 * not once per request, in a bounded map: a flood of distinct limits keeps at most
 * OVERRIDE_RULES_KEPT rules, and counting is unchanged by eviction (counters are named by
 * descriptor and limit, not by the rule object).
 */

const CONFIG = `domain: web
descriptors:
  - key: remote_address
    rate_limit: { unit: minute, requests_per_unit: 3 }
`;
const override = (value: string, rpu: number, unit = 'HOUR') => req('web', { entries: [['remote_address', value]], limit: { requests_per_unit: rpu, unit } });
const entries = (value: string) => [{ key: 'remote_address', value }];

describe('request-level override rules', () => {
  it('the same override compiles once, whatever the descriptor values; each request keeps its own limit path', async () => {
    const { limiter } = limiterFor(CONFIG, { requestLimits: true });
    for (let i = 0; i < 200; i++) await limiter.shouldRateLimit(override(`10.0.0.${i}`, 5));
    expect(limiter.overrideRules.size).toBe(1);
    const a = limiter.overrideRules.of('web', entries('a'), 5, 'HOUR');
    const b = limiter.overrideRules.of('web', entries('b'), 5, 'HOUR');
    expect(a.rule).toBe(b.rule); // one compiled rule…
    expect([a.limit.path, b.limit.path]).toEqual(['remote_address_a', 'remote_address_b']); // …and each request's own limit
    const r = await limiter.shouldRateLimit(override('b', 5));
    expect(header(r, 'ratelimit-policy')).toContain('remote_address_b');
  });

  it('different limits, domains or units are different rules', () => {
    const rules = new OverrideRules(new EnvoyRules({ globalShadowMode: false, onStoreError: 'error' }));
    const names = [rules.of('web', entries('a'), 5, 'HOUR'), rules.of('web', entries('a'), 6, 'HOUR'), rules.of('web', entries('a'), 5, 'MINUTE'), rules.of('api', entries('a'), 5, 'HOUR')].map((r) => r.rule.name);
    expect(names).toEqual(['envoy:web:@5/HOUR', 'envoy:web:@6/HOUR', 'envoy:web:@5/MINUTE', 'envoy:api:@5/HOUR']);
    expect(rules.size).toBe(4);
  });

  it('a flood of distinct overrides keeps at most OVERRIDE_RULES_KEPT rules, and counts stay right across eviction', async () => {
    const { limiter } = limiterFor(CONFIG, { requestLimits: true });
    expect((await limiter.shouldRateLimit(override('victim', 2))).overall_code).toBe('OK');
    expect((await limiter.shouldRateLimit(override('victim', 2))).overall_code).toBe('OK');
    const first = limiter.overrideRules.of('web', entries('victim'), 2, 'HOUR').rule;
    for (let i = 0; i < 3 * OVERRIDE_RULES_KEPT; i++) {
      await limiter.shouldRateLimit(override('flood', 1000 + i));
      expect(limiter.overrideRules.size).toBeLessThanOrEqual(OVERRIDE_RULES_KEPT);
    }
    expect(limiter.overrideRules.size).toBe(OVERRIDE_RULES_KEPT);
    // 2/HOUR was evicted and is compiled again; its counter (named by descriptor and limit) still holds 2 of 2.
    expect(limiter.overrideRules.of('web', entries('victim'), 2, 'HOUR').rule).not.toBe(first);
    expect((await limiter.shouldRateLimit(override('victim', 2))).overall_code).toBe('OVER_LIMIT');
  });
});
