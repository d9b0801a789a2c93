/**
 * responseJson, the hand-written /json answer of the service's raw path, must be the text
 * JSON.stringify(responseToJson(response)) gives, byte for byte: over arbitrary responses
 * (any strings, numbers that JSON writes as null, optional fields present or not, values of
 * types the response should not hold) and over what a real limiter answers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EnvoyRateLimiter, loadEnvoyConfig } from '../../src/envoy/index.js';
import { responseJson, responseToJson } from '../../src/envoy/json.js';
import type { RateLimitResponse } from '../../src/envoy/types.js';
import { MemoryStore } from '../../src/stores/memory.js';

const generic = (r: RateLimitResponse) => JSON.stringify(responseToJson(r));

// Strings that need escaping or are not ASCII, next to plain ones.
const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('', 'OK', '"quoted"', 'back\\slash', 'tab\t', 'é’😀', '\ud800', 'x-ratelimit-limit', 'ratelimit-policy', 'ratelimit'));
const number = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, 4294967295, 1e21, NaN, Infinity, -Infinity));
const header = fc.record({ key: text, value: text });
const status = fc.record(
  {
    code: fc.constantFrom('OK', 'OVER_LIMIT', 'UNKNOWN'),
    current_limit: fc.record({ requests_per_unit: number, unit: fc.oneof(fc.constantFrom('SECOND', 'MINUTE', 'HOUR', 'DAY'), text, fc.integer()), name: fc.option(text, { nil: undefined }) }, { requiredKeys: ['requests_per_unit', 'unit'] }),
    limit_remaining: number,
    duration_until_reset: fc.record({ seconds: fc.oneof(fc.nat(), number), nanos: fc.oneof(fc.integer({ min: 0, max: 999_999_999 }), fc.constantFrom(0, 1_000_000, 1_000)) }),
  },
  { requiredKeys: ['code', 'limit_remaining'] },
);
const response = fc.record({
  overall_code: fc.constantFrom('OK', 'OVER_LIMIT'),
  statuses: fc.array(status, { maxLength: 4 }),
  response_headers_to_add: fc.array(header, { maxLength: 6 }),
  request_headers_to_add: fc.array(header, { maxLength: 3 }),
}) as fc.Arbitrary<RateLimitResponse>;

describe('responseJson equals JSON.stringify(responseToJson(response))', () => {
  it('for any response', () => {
    fc.assert(
      fc.property(response, (r) => {
        expect(responseJson(r)).toBe(generic(r));
      }),
      { numRuns: 2000 },
    );
  });

  it('for values of types a response should not hold (the generic path takes them)', () => {
    const odd: unknown[] = [
      { overall_code: 'OK', statuses: [{ code: 'OK', limit_remaining: undefined }], response_headers_to_add: [], request_headers_to_add: [] },
      { overall_code: 'OK', statuses: [{ code: 'OK', limit_remaining: 1n.toString(), current_limit: { requests_per_unit: null, unit: 'DAY' } }], response_headers_to_add: [], request_headers_to_add: [] },
      { overall_code: 'OK', statuses: [], response_headers_to_add: [{ key: 'k', value: 3 }], request_headers_to_add: [] },
      { overall_code: 'OK', statuses: [{ code: 'OK', limit_remaining: 0, duration_until_reset: { seconds: '3', nanos: 0 } }], response_headers_to_add: [], request_headers_to_add: [] },
      { overall_code: 'OK', statuses: [{ code: 'OK', limit_remaining: 0, current_limit: { requests_per_unit: 1, unit: 'DAY', name: 7 } }], response_headers_to_add: [], request_headers_to_add: [] },
    ];
    for (const r of odd) expect(responseJson(r as RateLimitResponse)).toBe(generic(r as RateLimitResponse));
  });

  it('for what a limiter answers: admitted, over the limit, shadow, named, unlimited, unknown descriptors', async () => {
    const config = loadEnvoyConfig(`
domain: d
descriptors:
  - key: account
    rate_limit: { unit: second, requests_per_unit: 2 }
  - key: named
    rate_limit: { name: "quota “é” \\"q\\"", unit: minute, requests_per_unit: 1 }
  - key: shadowed
    shadow_mode: true
    rate_limit: { unit: hour, requests_per_unit: 1 }
  - key: free
    rate_limit: { unlimited: true }
  - key: zero
    rate_limit: { unit: day, requests_per_unit: 0 }
`);
    let now = Date.parse('2026-03-02T09:00:00.250Z');
    const limiter = new EnvoyRateLimiter(config, new MemoryStore(), () => now);
    const requests = [
      [{ key: 'account', value: 'a' }],
      [{ key: 'account', value: 'é😀"\\' }],
      [{ key: 'named', value: 'n' }],
      [{ key: 'shadowed', value: 's' }],
      [{ key: 'free', value: 'f' }],
      [{ key: 'zero', value: 'z' }],
      [{ key: 'nothing', value: 'x' }],
    ];
    let seen = 0;
    for (let round = 0; round < 4; round++) {
      for (const entries of requests) {
        const r = await limiter.shouldRateLimit({ domain: 'd', descriptors: [{ entries }, { entries: requests[round % requests.length] }] });
        expect(responseJson(r)).toBe(generic(r));
        seen++;
      }
      now += 333;
    }
    expect(seen).toBe(28);
  });
});
