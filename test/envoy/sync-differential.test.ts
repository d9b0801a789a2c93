import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideJsonText, decideJsonTextSync, EnvoyRateLimiter, loadEnvoyConfig, type EnvoyRateLimiterOptions, type RateLimitRequest } from '../../src/envoy/index.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { OpResult, Store, TxOp } from '../../src/stores/store.js';
import { FakeClock } from './support.js';

/**
 * The synchronous Envoy path (shouldRateLimitSync, decideJsonTextSync: what the service's
 * POST /json takes on memory and SQLite) against the general, promise-based one: two limiters
 * over identical stores and one clock, fed the same random requests — usable, unusable,
 * refused, over limit, shadowed, replaced, zero, unlimited, request-level limits, bodies that
 * are not JSON, and a store that fails — must give the same answers, errors and counters.
 */

const CONFIG = `domain: d
descriptors:
  - key: a
    rate_limit: { unit: minute, requests_per_unit: 3 }
    descriptors:
      - key: b
        shadow_mode: true
        rate_limit: { unit: minute, requests_per_unit: 2 }
  - key: u
    rate_limit: { unlimited: true }
  - key: z
    rate_limit: { unit: hour, requests_per_unit: 0 }
  - key: k1
    rate_limit: { name: specific, unit: second, requests_per_unit: 2 }
  - key: k2
    rate_limit:
      replaces: [{ name: specific }]
      unit: second
      requests_per_unit: 4
  - key: open
    rate_limit: { unit: minute, requests_per_unit: 2, on_store_error: open }
  - key: closed
    rate_limit: { unit: minute, requests_per_unit: 5, on_store_error: closed }
  - key: blk
    rate_limit: { name: loop, requests_per_unit: 2, unit: minute, algorithm: sliding-log, block: 1m }
  - key: g
    rate_limit: { requests_per_unit: 1, window: 3s, algorithm: gcra }
  - key: "quo\\"te"
    rate_limit: { name: "odd \\"name\\"", unit: minute, requests_per_unit: 2 }
`;

/** A memory store whose apply throws while `down` is set (synchronously, as SQLite's would). */
function failingStore(): { store: Store; setDown(v: boolean): void } {
  const inner = new MemoryStore();
  let down = false;
  const store = new Proxy(inner, {
    get(target, p, r) {
      if (p === 'apply')
        return (ops: readonly TxOp[], now: number): OpResult[] => {
          if (down) throw new Error('disk I/O error');
          return inner.apply(ops, now);
        };
      return Reflect.get(target, p, r);
    },
  }) as Store;
  return { store, setDown: (v) => (down = v) };
}

function pair(opts: EnvoyRateLimiterOptions) {
  const clock = new FakeClock();
  const a = failingStore();
  const b = failingStore();
  const config = loadEnvoyConfig(CONFIG);
  return {
    clock,
    setDown: (v: boolean) => (a.setDown(v), b.setDown(v)),
    sync: new EnvoyRateLimiter(config, a.store, clock, opts),
    general: new EnvoyRateLimiter(config, b.store, clock, opts),
  };
}

// Mostly usable requests on the configured keys (so counters fill up and refuse), with a share of unusable ones.
const key = fc.oneof({ weight: 9, arbitrary: fc.constantFrom('a', 'b', 'u', 'z', 'k1', 'k2', 'open', 'closed', 'blk', 'g', 'quo"te') }, { weight: 1, arbitrary: fc.constantFrom('nope', '') });
const value = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('x', 'y') }, { weight: 1, arbitrary: fc.constantFrom('', '=@~{}|%', undefined as unknown as string, 7 as unknown as string) });
const entry = fc.record({ key, value });
const hits = fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.constantFrom(0, 1, 2) }, { weight: 1, arbitrary: fc.record({ value: fc.constantFrom(0, 1, 3, '2', -1) }) });
const limit = fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.record({ requests_per_unit: fc.constantFrom(0, 1, 3), unit: fc.constantFrom('SECOND', 'minute', 2, 'UNKNOWN', 'fortnight') }) });
const descriptor = fc.record({ entries: fc.array(entry, { minLength: 1, maxLength: 2 }), hits_addend: hits, limit }, { requiredKeys: ['entries'] });
const request = fc.record(
  {
    domain: fc.oneof({ weight: 8, arbitrary: fc.constant('d') }, { weight: 1, arbitrary: fc.constantFrom('other', '') }),
    descriptors: fc.oneof({ weight: 12, arbitrary: fc.array(descriptor, { minLength: 1, maxLength: 3 }) }, { weight: 1, arbitrary: fc.constant([]) }),
    hits_addend: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(0, 1, 2) }, { weight: 1, arbitrary: fc.constantFrom(-3, 1.5) }),
  },
  { requiredKeys: ['domain', 'descriptors'] },
) as fc.Arbitrary<RateLimitRequest>;

/** A step of a run: a request, a clock move, or the store going down or up. */
const step = fc.oneof(
  { weight: 8, arbitrary: request.map((r) => ({ kind: 'request' as const, r })) },
  { weight: 1, arbitrary: fc.constantFrom(0, 400, 1_000, 3_000, 61_000).map((ms) => ({ kind: 'advance' as const, ms })) },
  { weight: 1, arbitrary: fc.boolean().map((down) => ({ kind: 'store' as const, down })) },
);

/** An answer or the error thrown, comparable. */
function outcome(f: () => unknown): unknown {
  try {
    return { ok: f() };
  } catch (e) {
    return { error: (e as Error).name, message: (e as Error).message };
  }
}
async function outcomeAsync(f: () => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await f() };
  } catch (e) {
    return { error: (e as Error).name, message: (e as Error).message };
  }
}

describe('Envoy: the synchronous path answers as the general one', () => {
  it.each<[string, EnvoyRateLimiterOptions]>([
    ['defaults', {}],
    ['request-level limits, global shadow mode', { requestLimits: true, globalShadowMode: true }],
    ['no headers, store errors open', { ietfHeaders: false, xRateLimitHeaders: false, onStoreError: 'open' }],
    ['x-ratelimit headers only, store errors closed', { ietfHeaders: false, onStoreError: 'closed' }],
  ])('shouldRateLimitSync = shouldRateLimit over random runs (%s)', async (_name, opts) => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        const { clock, setDown, sync, general } = pair(opts);
        for (const s of steps) {
          if (s.kind === 'advance') clock.advance(s.ms);
          else if (s.kind === 'store') setDown(s.down);
          else expect(outcome(() => sync.shouldRateLimitSync(s.r))).toEqual(await outcomeAsync(() => general.shouldRateLimit(s.r)));
        }
        expect(sync.counters).toEqual(general.counters);
        expect(sync.engine.counters).toEqual(general.engine.counters);
      }),
      { numRuns: 150 },
    );
  });

  it('decideJsonTextSync = decideJsonText over random bodies, good and bad', async () => {
    const good = request.map((r) => JSON.stringify(r));
    // proto3 JSON spellings, unknown fields, wrong types, not JSON at all, empty
    const odd = fc.oneof(
      fc.constantFrom('', '  ', 'null', '[]', '{', '{"domain":"d"}', '{"domain":"d","descriptors":{}}', '{"domain":"d","descriptors":[{"entries":[{"key":"a","value":"x"}],"hitsAddend":"2"}],"hitsAddend":1}', '{"domain":"d","descriptors":[{"entries":[{"key":"a","value":"x","extra":1}]}]}', '{"domain":"d","descriptors":[{"entries":[{"key":"a"}],"limit":{"requestsPerUnit":1,"unit":"MINUTE"}}]}', '{"domain":"d","bogus":true}', '{"domain":"d","descriptors":[{"entries":[{"key":"a","value":7}]}]}'),
      fc.string({ maxLength: 20 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.oneof(good, odd), fc.boolean(), fc.constantFrom(0, 0, 1_000)), { minLength: 1, maxLength: 30 }), async (bodies) => {
        const { clock, setDown, sync, general } = pair({ requestLimits: true });
        const errorsSync: unknown[] = [];
        const errorsGeneral: unknown[] = [];
        for (const [body, down, ms] of bodies) {
          setDown(down);
          clock.advance(ms);
          expect(outcome(() => decideJsonTextSync(sync, body, (e) => errorsSync.push(String(e))))).toEqual(await outcomeAsync(() => decideJsonText(general, body, (e) => errorsGeneral.push(String(e)))));
        }
        expect(errorsSync).toEqual(errorsGeneral);
      }),
      { numRuns: 150 },
    );
  });

  it('answers OVER_LIMIT (429) and the store failure (503) on the synchronous path, as the general one does', () => {
    const { setDown, sync } = pair({});
    const body = JSON.stringify({ domain: 'd', descriptors: [{ entries: [{ key: 'a', value: 'x' }] }] });
    expect([1, 2, 3, 4].map(() => decideJsonTextSync(sync, body).status)).toEqual([200, 200, 200, 429]);
    setDown(true);
    const failed = decideJsonTextSync(sync, JSON.stringify({ domain: 'd', descriptors: [{ entries: [{ key: 'k1', value: 'x' }] }] }));
    expect(failed.status).toBe(503);
    expect(JSON.parse(failed.body).error.code).toBeDefined();
  });
});
