import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EnvoyRateLimiter, EnvoyRequestError, EnvoyStoreError, envoyStateKey, loadEnvoyConfig } from '../../src/envoy/index.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { Store } from '../../src/stores/store.js';
import { header, limiterFor, req, T0 } from './support.js';

const example = (name: string) => readFileSync(new URL(`../../examples/envoy/${name}`, import.meta.url), 'utf8');

const PER_MINUTE = `domain: web
descriptors:
  - key: remote_address
    rate_limit:
      unit: minute
      requests_per_unit: 3
`;

describe('EnvoyRateLimiter', () => {
  it('a basic fixed window: 3 per minute, aligned to the minute, as envoy counts', async () => {
    const { limiter, clock } = limiterFor(PER_MINUTE);
    const ip = req('web', [['remote_address', '10.0.0.1']]);
    clock.advance(20_000);
    const first = await limiter.shouldRateLimit(ip);
    expect(first).toMatchObject({
      overall_code: 'OK',
      statuses: [{ code: 'OK', current_limit: { requests_per_unit: 3, unit: 'MINUTE' }, limit_remaining: 2, duration_until_reset: { seconds: 40, nanos: 0 } }],
    });
    expect((await limiter.shouldRateLimit(ip)).statuses[0].limit_remaining).toBe(1);
    expect((await limiter.shouldRateLimit(ip)).statuses[0].limit_remaining).toBe(0);
    clock.advance(39_500);
    const over = await limiter.shouldRateLimit(ip);
    expect(over).toMatchObject({ overall_code: 'OVER_LIMIT', statuses: [{ code: 'OVER_LIMIT', limit_remaining: 0, duration_until_reset: { seconds: 0, nanos: 500_000_000 } }] });
    // Another client has its own counter.
    expect((await limiter.shouldRateLimit(req('web', [['remote_address', '10.0.0.2']]))).overall_code).toBe('OK');
    // The next minute starts afresh.
    clock.advance(500);
    expect((await limiter.shouldRateLimit(ip)).statuses[0]).toMatchObject({ code: 'OK', limit_remaining: 2 });
  });

  it('adds RateLimit / RateLimit-Policy and x-ratelimit-* headers, and Retry-After when over', async () => {
    const { limiter } = limiterFor(PER_MINUTE);
    const ok = await limiter.shouldRateLimit(req('web', [['remote_address', 'a']]));
    expect(header(ok, 'ratelimit-policy')).toBe('"remote_address";q=3;w=60');
    expect(header(ok, 'ratelimit')).toBe('"remote_address";r=2;t=60');
    expect(header(ok, 'x-ratelimit-limit')).toBe('3');
    expect(header(ok, 'x-ratelimit-remaining')).toBe('2');
    expect(header(ok, 'x-ratelimit-reset')).toBe('60');
    expect(header(ok, 'retry-after')).toBeUndefined();
    await limiter.shouldRateLimit(req('web', [['remote_address', 'a']]));
    await limiter.shouldRateLimit(req('web', [['remote_address', 'a']]));
    const over = await limiter.shouldRateLimit(req('web', [['remote_address', 'a']]));
    expect(header(over, 'retry-after')).toBe('60');
    expect(header(over, 'x-ratelimit-remaining')).toBe('0');

    const quiet = new EnvoyRateLimiter(limiter.config, new MemoryStore(), () => T0, { ietfHeaders: false, xRateLimitHeaders: false });
    expect((await quiet.shouldRateLimit(req('web', [['remote_address', 'a']]))).response_headers_to_add).toEqual([]);
  });

  it("several descriptors in one request (envoy's example config): all limits at once, all or nothing", async () => {
    const { limiter } = limiterFor(example('config.yaml'));
    const marketing = req('messaging', [['message_type', 'marketing'], ['to_number', '2061111111']], [['to_number', '2061111111']]);
    for (let i = 0; i < 5; i++) {
      const r = await limiter.shouldRateLimit(marketing);
      expect(r.overall_code).toBe('OK');
      expect(r.statuses.map((s) => s.limit_remaining)).toEqual([4 - i, 99 - i]);
    }
    const sixth = await limiter.shouldRateLimit(marketing);
    expect(sixth.overall_code).toBe('OVER_LIMIT');
    expect(sixth.statuses.map((s) => s.code)).toEqual(['OVER_LIMIT', 'OK']);
    // The refused request did not use up the per-number limit (envoy's service would have charged it).
    expect(sixth.statuses[1].limit_remaining).toBe(95);
    const plain = await limiter.shouldRateLimit(req('messaging', [['to_number', '2061111111']]));
    expect(plain.statuses[0]).toMatchObject({ code: 'OK', limit_remaining: 94 });
    // The RateLimit header lists both limits.
    expect(header(sixth, 'ratelimit-policy')).toBe('"message_type_marketing.to_number";q=5;w=86400, "to_number";q=100;w=86400');
  });

  it('nesting and depth: the node reached by the last entry must carry the limit (README example 4)', async () => {
    const { limiter } = limiterFor(readFileSync(new URL('../../examples/envoy/readme/example4.yaml', import.meta.url), 'utf8'));
    const two = await limiter.shouldRateLimit(req('example4', [['key', 'value'], ['subkey', 'subvalue']]));
    expect(two.statuses[0]).toMatchObject({ code: 'OK', current_limit: { requests_per_unit: 300, unit: 'SECOND' }, limit_remaining: 299 });
    // Shorter and longer descriptors match nothing: OK without a limit.
    const one = await limiter.shouldRateLimit(req('example4', [['key', 'value']]));
    expect(one.statuses[0]).toEqual({ code: 'OK', limit_remaining: 0 });
    const three = await limiter.shouldRateLimit(req('example4', [['key', 'value'], ['subkey', 's'], ['more', 'x']]));
    expect(three.statuses[0]).toEqual({ code: 'OK', limit_remaining: 0 });
    const other = await limiter.shouldRateLimit(req('example4', [['key', 'other'], ['subkey', 's']]));
    expect(other.statuses[0]).toEqual({ code: 'OK', limit_remaining: 0 });
    // A limit part-way down does not apply to a longer descriptor.
    const { limiter: l2 } = limiterFor(`domain: d
descriptors:
  - key: a
    rate_limit: { unit: second, requests_per_unit: 1 }
    descriptors:
      - key: b
        value: x
        rate_limit: { unit: second, requests_per_unit: 7 }
`);
    expect((await l2.shouldRateLimit(req('d', [['a', '1'], ['b', 'y']]))).statuses[0]).toEqual({ code: 'OK', limit_remaining: 0 });
    expect((await l2.shouldRateLimit(req('d', [['a', '1'], ['b', 'x']]))).statuses[0].current_limit?.requests_per_unit).toBe(7);
    expect((await l2.shouldRateLimit(req('d', [['a', '1']]))).statuses[0].current_limit?.requests_per_unit).toBe(1);
  });

  it('exact value before the key-only default; requests_per_unit 0 always over limit (README example 3)', async () => {
    const { limiter } = limiterFor(readFileSync(new URL('../../examples/envoy/readme/example3.yaml', import.meta.url), 'utf8'));
    const banned = await limiter.shouldRateLimit(req('edge_proxy_per_ip', [['remote_address', '50.0.0.5']]));
    expect(banned).toMatchObject({ overall_code: 'OVER_LIMIT', statuses: [{ code: 'OVER_LIMIT', current_limit: { requests_per_unit: 0, unit: 'SECOND' }, limit_remaining: 0 }] });
    const other = await limiter.shouldRateLimit(req('edge_proxy_per_ip', [['remote_address', '50.0.0.1']]));
    expect(other.statuses[0]).toMatchObject({ code: 'OK', current_limit: { requests_per_unit: 10 }, limit_remaining: 9 });
  });

  it('a zero limit refuses the request without charging its other descriptors', async () => {
    const { limiter } = limiterFor(`domain: d
descriptors:
  - key: ip
    rate_limit: { unit: minute, requests_per_unit: 5 }
  - key: path
    value: /admin
    rate_limit: { unit: minute, requests_per_unit: 0 }
`);
    const r = await limiter.shouldRateLimit(req('d', [['ip', '1']], [['path', '/admin']]));
    expect(r.overall_code).toBe('OVER_LIMIT');
    expect(r.statuses.map((s) => [s.code, s.limit_remaining])).toEqual([['OK', 5], ['OVER_LIMIT', 0]]);
    expect((await limiter.shouldRateLimit(req('d', [['ip', '1']]))).statuses[0].limit_remaining).toBe(4);
  });

  it('unlimited: OK with limit_remaining at its maximum and no counter (README example 5)', async () => {
    const { limiter, store } = limiterFor(readFileSync(new URL('../../examples/envoy/readme/example5.yaml', import.meta.url), 'utf8'));
    const r = await limiter.shouldRateLimit(req('internal', [['ldap', 'x']], [['azure', 'y']]));
    expect(r.statuses[0]).toEqual({ code: 'OK', limit_remaining: 4294967295 });
    expect(r.statuses[1]).toMatchObject({ code: 'OK', limit_remaining: 99 });
    expect(await store.size()).toBe(1);
  });

  it('shadow mode: over the limit is reported OK but counted (README example 6)', async () => {
    const { limiter } = limiterFor(readFileSync(new URL('../../examples/envoy/readme/example6.yaml', import.meta.url), 'utf8'));
    const a = req('example6', [['service', 'auth-service'], ['user', 'user-a']]);
    for (let i = 0; i < 10; i++) await limiter.shouldRateLimit(a);
    const over = await limiter.shouldRateLimit(a);
    expect(over).toMatchObject({ overall_code: 'OK', statuses: [{ code: 'OK', current_limit: { requests_per_unit: 10 }, limit_remaining: 0 }] });
    expect(limiter.counters.shadowOverLimit).toBe(1);
    // Shadow limits stay out of the headers.
    expect(over.response_headers_to_add).toEqual([]);
    const b = req('example6', [['service', 'auth-service'], ['user', 'user-b']]);
    for (let i = 0; i < 20; i++) expect((await limiter.shouldRateLimit(b)).overall_code).toBe('OK');
    expect((await limiter.shouldRateLimit(b)).overall_code).toBe('OVER_LIMIT');
  });

  it('shadow descriptors are charged even when another descriptor refuses the request', async () => {
    const { limiter } = limiterFor(`domain: d
descriptors:
  - key: shadowed
    shadow_mode: true
    rate_limit: { unit: minute, requests_per_unit: 10 }
  - key: strict
    rate_limit: { unit: minute, requests_per_unit: 1 }
`);
    const both = req('d', [['shadowed', 'x']], [['strict', 'y']]);
    expect((await limiter.shouldRateLimit(both)).statuses.map((s) => s.limit_remaining)).toEqual([9, 0]);
    const refused = await limiter.shouldRateLimit(both);
    expect(refused.overall_code).toBe('OVER_LIMIT');
    expect(refused.statuses.map((s) => [s.code, s.limit_remaining])).toEqual([['OK', 8], ['OVER_LIMIT', 0]]);
  });

  it('replaces: a limit naming another takes it out of the request (README example 7)', async () => {
    const { limiter } = limiterFor(readFileSync(new URL('../../examples/envoy/readme/example7.yaml', import.meta.url), 'utf8'));
    const both = req('example7', [['key_1', 'value_1'], ['user', 'bkthomps']], [['key_2', 'value_2'], ['user', 'bkthomps']]);
    for (let i = 0; i < 10; i++) {
      const r = await limiter.shouldRateLimit(both);
      expect(r.overall_code).toBe('OK');
      expect(r.statuses[0]).toEqual({ code: 'OK', limit_remaining: 0 });
      expect(r.statuses[1].limit_remaining).toBe(9 - i);
    }
    expect((await limiter.shouldRateLimit(both)).overall_code).toBe('OVER_LIMIT');
    // The replaced 5/s limit was never charged: alone, it still has all 5.
    const alone = await limiter.shouldRateLimit(req('example7', [['key_1', 'value_1'], ['user', 'bkthomps']]));
    expect(alone.statuses[0]).toMatchObject({ current_limit: { requests_per_unit: 5, name: 'specific_limit' }, limit_remaining: 4 });
  });

  it('hits_addend: per request, per descriptor (which wins), 0 checks without charging', async () => {
    const { limiter } = limiterFor(`domain: d
descriptors:
  - key: a
    rate_limit: { unit: minute, requests_per_unit: 10 }
  - key: b
    rate_limit: { unit: minute, requests_per_unit: 10 }
`);
    const r1 = await limiter.shouldRateLimit({ ...req('d', [['a', '1']], [['b', '1']]), hits_addend: 3 });
    expect(r1.statuses.map((s) => s.limit_remaining)).toEqual([7, 7]);
    const r2 = await limiter.shouldRateLimit({ ...req('d', [['a', '1']], { entries: [['b', '1']], hits: 5 }), hits_addend: 2 });
    expect(r2.statuses.map((s) => s.limit_remaining)).toEqual([5, 2]);
    // hits 0: a look without a charge.
    const peek = await limiter.shouldRateLimit(req('d', { entries: [['a', '1']], hits: 0 }, { entries: [['b', '1']], hits: 0 }));
    expect(peek.statuses.map((s) => [s.code, s.limit_remaining])).toEqual([['OK', 5], ['OK', 2]]);
    // Request-level 0 is proto3's "unset": 1.
    const one = await limiter.shouldRateLimit({ ...req('d', [['a', '1']]), hits_addend: 0 });
    expect(one.statuses[0].limit_remaining).toBe(4);
    // More than is left is refused whole, and charges nothing.
    const big = await limiter.shouldRateLimit({ ...req('d', [['a', '1']]), hits_addend: 5 });
    expect(big.statuses[0]).toMatchObject({ code: 'OVER_LIMIT', limit_remaining: 0 });
    expect((await limiter.shouldRateLimit({ ...req('d', [['a', '1']]), hits_addend: 4 })).statuses[0]).toMatchObject({ code: 'OK', limit_remaining: 0 });
  });

  it('the same counter twice in one request is charged twice', async () => {
    const { limiter } = limiterFor(PER_MINUTE);
    const r = await limiter.shouldRateLimit(req('web', [['remote_address', 'a']], [['remote_address', 'a']]));
    expect(r.statuses.map((s) => s.limit_remaining)).toEqual([1, 1]);
    expect((await limiter.shouldRateLimit(req('web', [['remote_address', 'a']], [['remote_address', 'a']]))).overall_code).toBe('OVER_LIMIT');
  });

  it('wildcards: "value*" matches by prefix, after exact values and before the key-only default (README example 9)', async () => {
    const { limiter } = limiterFor(`domain: example9
descriptors:
  - key: key1
    value: value*
    rate_limit: { unit: minute, requests_per_unit: 20 }
  - key: key1
    value: value_special
    rate_limit: { unit: minute, requests_per_unit: 1 }
  - key: key1
    rate_limit: { unit: minute, requests_per_unit: 3 }
  - key: path
    value: /api/*
    descriptors:
      - key: user
        rate_limit: { unit: minute, requests_per_unit: 2 }
`);
    const limitOf = async (...d: string[][]) => (await limiter.shouldRateLimit(req('example9', d))).statuses[0].current_limit?.requests_per_unit;
    expect(await limitOf(['key1', 'value_1'])).toBe(20);
    expect(await limitOf(['key1', 'value'])).toBe(20);
    expect(await limitOf(['key1', 'value_special'])).toBe(1);
    expect(await limitOf(['key1', 'other'])).toBe(3);
    expect(await limitOf(['path', '/api/v1/users'], ['user', 'u'])).toBe(2);
    expect(await limitOf(['path', '/other'], ['user', 'u'])).toBeUndefined();
    // Each value matched by a wildcard has its own counter, as in envoy.
    const a = await limiter.shouldRateLimit(req('example9', [['key1', 'value_1']]));
    const b = await limiter.shouldRateLimit(req('example9', [['key1', 'value_2']]));
    expect([a.statuses[0].limit_remaining, b.statuses[0].limit_remaining]).toEqual([18, 19]);
  });

  it('a request-level limit is ignored by default: the configured limit decides, whatever the caller asks for', async () => {
    const { limiter } = limiterFor(PER_MINUTE);
    const raise = req('web', { entries: [['remote_address', 'a']], limit: { requests_per_unit: 1_000_000, unit: 'DAY' } });
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push((await limiter.shouldRateLimit(raise)).overall_code);
    expect(answers).toEqual(['OK', 'OK', 'OK', 'OVER_LIMIT', 'OVER_LIMIT']);
    expect((await limiter.shouldRateLimit(req('web', [['remote_address', 'a']]))).overall_code).toBe('OVER_LIMIT'); // one counter
  });

  it('with requestLimits: a request-level limit override replaces the configured limit and has its own counter', async () => {
    const { limiter } = limiterFor(PER_MINUTE, { requestLimits: true });
    const o = (rpu: number, unit: string) => req('web', { entries: [['remote_address', 'a']], limit: { requests_per_unit: rpu, unit } });
    const r = await limiter.shouldRateLimit(o(2, 'HOUR'));
    expect(r.statuses[0]).toMatchObject({ code: 'OK', current_limit: { requests_per_unit: 2, unit: 'HOUR' }, limit_remaining: 1, duration_until_reset: { seconds: 3600 } });
    await limiter.shouldRateLimit(o(2, 'HOUR'));
    expect((await limiter.shouldRateLimit(o(2, 'HOUR'))).overall_code).toBe('OVER_LIMIT');
    // Another override, and the configured limit, count separately.
    expect((await limiter.shouldRateLimit(o(5, 'HOUR'))).statuses[0].limit_remaining).toBe(4);
    expect((await limiter.shouldRateLimit(req('web', [['remote_address', 'a']]))).statuses[0].limit_remaining).toBe(2);
    // Overrides apply to descriptors the config does not know, in a known domain; the unit may be the enum number.
    const unknown = await limiter.shouldRateLimit(req('web', { entries: [['anything', 'x']], limit: { requests_per_unit: 1, unit: 1 as never } }));
    expect(unknown.statuses[0]).toMatchObject({ current_limit: { requests_per_unit: 1, unit: 'SECOND' }, limit_remaining: 0 });
    await expect(limiter.shouldRateLimit(o(1, 'FORTNIGHT'))).rejects.toThrow(/limit\.unit must be SECOND/);
    expect(envoyStateKey('web', [{ key: 'remote_address', value: 'a' }], { requestsPerUnit: 2, unit: 'HOUR' })).toBe('envoy:web|remote_address=a|@2/HOUR'); // its own namespace: no policy rule name has a ":"
  });

  describe('Sluice extensions', () => {
    it('window: 3s with gcra: 1 request per 3 seconds per tenant', async () => {
      const { limiter, clock } = limiterFor(example('sluice-extensions.yaml'));
      const acme = req('sluice_extensions', [['api', 'recordings'], ['tenant', 'acme']]);
      const first = await limiter.shouldRateLimit(acme);
      expect(first.statuses[0]).toMatchObject({ code: 'OK', current_limit: { requests_per_unit: 1, unit: 'UNKNOWN', name: 'recording-audio' } });
      expect(header(first, 'ratelimit-policy')).toBe('"recording-audio";q=1;w=3');
      clock.advance(1000);
      const refused = await limiter.shouldRateLimit(acme);
      expect(refused.statuses[0]).toMatchObject({ code: 'OVER_LIMIT', duration_until_reset: { seconds: 2, nanos: 0 } });
      expect((await limiter.shouldRateLimit(req('sluice_extensions', [['api', 'recordings'], ['tenant', 'globex']]))).overall_code).toBe('OK');
      clock.advance(2000);
      expect((await limiter.shouldRateLimit(acme)).overall_code).toBe('OK');
    });

    it('sliding-log: an exact rolling window (2 signups per IP per 8 hours)', async () => {
      const { limiter, clock } = limiterFor(example('sluice-extensions.yaml'));
      const ip = req('sluice_extensions', [['api', 'signup'], ['remote_address', '1.2.3.4']]);
      expect((await limiter.shouldRateLimit(ip)).overall_code).toBe('OK');
      clock.advance(3_600_000);
      expect((await limiter.shouldRateLimit(ip)).overall_code).toBe('OK');
      clock.advance(6 * 3_600_000); // 7h after the first: a fixed 8h window would not help here either
      const refused = await limiter.shouldRateLimit(ip);
      expect(refused.statuses[0]).toMatchObject({ code: 'OVER_LIMIT', duration_until_reset: { seconds: 3600 } });
      clock.advance(3_600_000); // the first signup leaves the window
      expect((await limiter.shouldRateLimit(ip)).overall_code).toBe('OK');
      expect((await limiter.shouldRateLimit(ip)).overall_code).toBe('OVER_LIMIT');
    });

    it('block: once the limit trips, the key is refused for the block duration', async () => {
      const { limiter, clock } = limiterFor(example('sluice-extensions.yaml'));
      const loop = req('sluice_extensions', [['contact', 'c1'], ['question', 'q1']]);
      for (let i = 0; i < 5; i++) expect((await limiter.shouldRateLimit(loop)).overall_code).toBe('OK');
      clock.advance(10_000);
      const tripped = await limiter.shouldRateLimit(loop);
      expect(tripped.statuses[0]).toMatchObject({ code: 'OVER_LIMIT', duration_until_reset: { seconds: 60 } });
      // At +61 s the rolling window is empty again, but the block holds until +70 s.
      clock.advance(51_000);
      expect((await limiter.shouldRateLimit(loop)).statuses[0]).toMatchObject({ code: 'OVER_LIMIT', duration_until_reset: { seconds: 9 } });
      expect((await limiter.shouldRateLimit(req('sluice_extensions', [['contact', 'c1'], ['question', 'q2']]))).overall_code).toBe('OK');
      clock.advance(9_000);
      expect((await limiter.shouldRateLimit(loop)).overall_code).toBe('OK');
    });
  });

  it('unknown domains and unmatched descriptors are OK without limits', async () => {
    const { limiter } = limiterFor(PER_MINUTE);
    const r = await limiter.shouldRateLimit(req('nope', [['remote_address', 'a']]));
    expect(r).toEqual({ overall_code: 'OK', statuses: [{ code: 'OK', limit_remaining: 0 }], response_headers_to_add: [], request_headers_to_add: [] });
  });

  it('refuses unusable requests with EnvoyRequestError', async () => {
    const { limiter } = limiterFor(PER_MINUTE);
    await expect(limiter.shouldRateLimit({ domain: '', descriptors: [{ entries: [{ key: 'a', value: 'b' }] }] })).rejects.toThrow(/domain must not be empty/);
    await expect(limiter.shouldRateLimit({ domain: 'web', descriptors: [] })).rejects.toThrow(EnvoyRequestError);
    await expect(limiter.shouldRateLimit({ domain: 'web', descriptors: [{ entries: [] }] })).rejects.toThrow(/descriptors\[0\]\.entries must not be empty/);
    await expect(limiter.shouldRateLimit({ domain: 'web', descriptors: [{ entries: [{ key: 'a', value: 'b' }] }], hits_addend: -1 })).rejects.toThrow(/hits_addend/);
  });

  it('a failing store is reported as EnvoyStoreError (envoy then applies failure_mode_deny)', async () => {
    const broken = new Proxy(new MemoryStore(), {
      get(target, p, r) {
        if (p === 'apply') return () => Promise.reject(new Error('connection refused'));
        return Reflect.get(target, p, r);
      },
    }) as Store;
    const limiter = new EnvoyRateLimiter(loadEnvoyConfig(PER_MINUTE), broken, () => T0);
    await expect(limiter.shouldRateLimit(req('web', [['remote_address', 'a']]))).rejects.toThrow(EnvoyStoreError);
    expect(limiter.counters.storeErrors).toBe(1);
  });

  it('after 3 consecutive store failures the breaker answers at once without the store; a probe after 500 ms brings it back', async () => {
    let calls = 0;
    let up = false;
    const inner = new MemoryStore();
    const flaky = new Proxy(inner, {
      get(target, p, r) {
        if (p === 'apply') return (ops: never, now: number) => (calls++, up ? Promise.resolve(inner.apply(ops, now)) : Promise.reject(new Error('Command timed out')));
        return Reflect.get(target, p, r);
      },
    }) as Store;
    let t = T0;
    const limiter = new EnvoyRateLimiter(loadEnvoyConfig(PER_MINUTE), flaky, () => t);
    const ask = () => limiter.shouldRateLimit(req('web', [['remote_address', 'a']]));
    for (let i = 0; i < 3; i++) await expect(ask()).rejects.toThrow(/timed out/);
    for (let i = 0; i < 10; i++) await expect(ask()).rejects.toThrow(/circuit open/);
    expect(calls).toBe(3);
    up = true;
    t += 500;
    expect((await ask()).overall_code).toBe('OK');
    expect((await ask()).overall_code).toBe('OK');
    expect(calls).toBe(5);
  });

  it('global shadow mode answers OK overall but keeps per-descriptor codes and counts', async () => {
    const { limiter } = limiterFor(PER_MINUTE, { globalShadowMode: true });
    for (let i = 0; i < 3; i++) await limiter.shouldRateLimit(req('web', [['remote_address', 'a']]));
    const r = await limiter.shouldRateLimit(req('web', [['remote_address', 'a']]));
    expect(r.overall_code).toBe('OK');
    expect(r.statuses[0].code).toBe('OVER_LIMIT');
    expect(limiter.counters.overLimit).toBe(1);
  });

  it('setConfig swaps the configuration; counters of unchanged descriptors carry on', async () => {
    const { limiter } = limiterFor(PER_MINUTE);
    await limiter.shouldRateLimit(req('web', [['remote_address', 'a']]));
    limiter.setConfig(loadEnvoyConfig(PER_MINUTE.replace('requests_per_unit: 3', 'requests_per_unit: 10')));
    expect((await limiter.shouldRateLimit(req('web', [['remote_address', 'a']]))).statuses[0].limit_remaining).toBe(8);
  });
});
