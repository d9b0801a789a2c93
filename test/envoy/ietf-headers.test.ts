import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EnvoyLimit } from '../../src/envoy/config.js';
import { ietfHeaders, ietfHeadersOfOne, type ShownLimit } from '../../src/envoy/limiter.js';
import type { HeaderValue } from '../../src/envoy/types.js';

/** The one-limit shortcut of the Envoy limiter's IETF headers (cached name and policy item) against the general builder. */
describe('Envoy IETF headers of one limit', () => {
  const limit = fc.record({
    name: fc.option(fc.oneof(fc.constantFrom('per-account', 'odd "name"', 'back\\slash', ''), fc.string({ maxLength: 6 })), { nil: undefined }),
    path: fc.oneof(fc.constantFrom('account', 'a.b_c', 'quo"te'), fc.string({ maxLength: 6 })),
    requestsPerUnit: fc.nat({ max: 5_000_000_000 }),
    windowMs: fc.constantFrom(1, 400, 1_000, 3_000, 60_000, 3_600_000, 86_400_000),
  });
  const shown = fc.record({
    limit,
    remaining: fc.nat({ max: 4_294_967_295 }),
    resetMs: fc.oneof(fc.constantFrom(0, 1, 999, 1_000, 1_001), fc.double({ min: 0, max: 1e9, noNaN: true })),
    over: fc.boolean(),
  });

  it('are the headers the general builder makes, for any limit, remaining, reset and refusal, asked once or again', () => {
    fc.assert(
      fc.property(shown, fc.integer({ min: 1, max: 3 }), (s, times) => {
        const l = { ...s.limit, replaces: [], unlimited: false, unit: 'MINUTE', algorithm: 'fixed-window', blockMs: 0, shadow: false, detailedMetric: false, valueToMetric: false } as EnvoyLimit;
        const one: ShownLimit = { limit: l, status: { code: s.over ? 'OVER_LIMIT' : 'OK', limit_remaining: s.remaining }, resetMs: s.resetMs, over: s.over };
        const general: HeaderValue[] = [];
        ietfHeaders([one], general);
        for (let i = 0; i < times; i++) {
          const fast: HeaderValue[] = [];
          ietfHeadersOfOne(one, fast);
          expect(fast).toEqual(general);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
