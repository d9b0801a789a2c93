/**
 * A reload that changes a rule's algorithm carries each key over with the KEY's limit (a
 * run-time or file override, a `scale:`), not the rule's: a GCRA's TAT is in units of
 * window ÷ limit, and reading it with the rule's base limit used to lift limits — a 120/1m key
 * at its limit got 60 more calls after sliding-log → gcra → sliding-log, a scaled tenant past
 * its cap came back at the base cap, and a 30/1m key converted into GCRA read half its units.
 * On memory, SQLite and (when redis-server exists) Redis, with an injected clock.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { loadPolicy } from '../../src/policy/load.js';
import { manualClock } from '../helpers/clock.js';
import { freshStores } from '../helpers/fresh-stores.js';

const { stores: STORES, close } = freshStores('carry-over with overrides and scale');
afterAll(close);

type Algorithm = 'sliding-log' | 'sliding-window' | 'fixed-window' | 'gcra' | 'rolling-quota';

interface PolicyBits {
  limit?: string;
  overrides?: { rule: string; key: Record<string, string>; limit: string }[];
  attributes?: Record<string, Record<string, Record<string, number>>>;
  scale?: boolean;
}

function policy(algorithm: Algorithm, bits: PolicyBits = {}) {
  return loadPolicy({
    rules: [{ name: 'r', key: 'k', limit: bits.limit ?? '60/1m', algorithm, ...(bits.scale ? { scale: { attribute: 'licensed_agents', of: 'k', default: 1 } } : {}) }],
    ...(bits.overrides ? { overrides: bits.overrides } : {}),
    ...(bits.attributes ? { attributes: bits.attributes } : {}),
  } as Parameters<typeof loadPolicy>[0]);
}

/** Checks until refused (at most `max` + 2); returns how many were admitted. */
async function drive(sluice: Sluice, k: string, max: number, cost = 1, extra: Record<string, string> = {}): Promise<number> {
  let admitted = 0;
  for (let i = 0; i < max + 2; i++) {
    if (!(await sluice.check({ k, ...extra }, { cost })).allowed) break;
    admitted++;
  }
  return admitted;
}

/** Reloads to `algorithm`, then decides one request (a refused one under GCRA clamps its TAT, as live traffic would). */
async function reload(sluice: Sluice, algorithm: Algorithm, bits: PolicyBits, k: string): Promise<boolean> {
  sluice.setPolicy(policy(algorithm, bits));
  return (await sluice.check({ k })).allowed;
}

describe('a reload carries each key over with its own limit', () => {
  for (const store of STORES) {
    it(`${store.name}: a 120/1m run-time override at its limit stays refused through sliding-log → gcra → sliding-log`, async () => {
      const clock = manualClock();
      const sluice = await Sluice.open({ policy: policy('sliding-log'), store: await store.open(), clock: clock.now });
      await sluice.store.setOverride({ key: 'r|vip', rule: 'r', keyValues: { k: 'vip' }, limit: 120, windowMs: 60_000 });
      expect(await drive(sluice, 'vip', 120)).toBe(120);
      expect(await reload(sluice, 'gcra', {}, 'vip')).toBe(false);
      expect(await reload(sluice, 'sliding-log', {}, 'vip')).toBe(false);
      // Still inside the minute of the 120 calls: nothing more (the old code admitted 60).
      expect(await drive(sluice, 'vip', 120)).toBe(0);
      // The log's 120 units leave a minute after they were charged, not before, through any reload.
      clock.advance(30_000);
      expect(await reload(sluice, 'gcra', {}, 'vip')).toBe(false);
      expect(await reload(sluice, 'sliding-log', {}, 'vip')).toBe(false);
      expect(await drive(sluice, 'vip', 120)).toBe(0);
      await sluice.close();
    });

    it(`${store.name}: a 120/1m override from the policy file, the same (a key value the state key escapes)`, async () => {
      const clock = manualClock();
      const vip = 'v|i%p{1}';
      const bits: PolicyBits = { overrides: [{ rule: 'r', key: { k: vip }, limit: '120/1m' }] };
      const sluice = await Sluice.open({ policy: policy('sliding-log', bits), store: await store.open(), clock: clock.now });
      expect(await drive(sluice, vip, 120)).toBe(120);
      expect(await reload(sluice, 'gcra', bits, vip)).toBe(false);
      expect(await reload(sluice, 'sliding-log', bits, vip)).toBe(false);
      expect(await drive(sluice, vip, 120)).toBe(0);
      await sluice.close();
    });

    it(`${store.name}: a tenant scaled ×3 (the store's attribute) past its cap on a 20/5d quota stays refused through gcra`, async () => {
      const clock = manualClock();
      const bits: PolicyBits = { limit: '20/5d', scale: true };
      const sluice = await Sluice.open({ policy: policy('rolling-quota', bits), store: await store.open(), clock: clock.now });
      await sluice.store.setAttributes('k:acme', { licensed_agents: 3 });
      expect(await drive(sluice, 'acme', 60, 7)).toBe(8); // 56 of 60 used; the 9th (63) is refused
      expect((await sluice.check({ k: 'acme' }, { cost: 4 })).allowed).toBe(true); // at the cap, 60
      clock.advance(3_600_000);
      expect(await reload(sluice, 'gcra', bits, 'acme')).toBe(false);
      clock.advance(3_600_000);
      expect(await reload(sluice, 'rolling-quota', bits, 'acme')).toBe(false);
      // The old code came back at the base cap (20 used of 60): 40 more admitted.
      expect(await drive(sluice, 'acme', 60)).toBe(0);
      await sluice.close();
    });

    it(`${store.name}: a tenant scaled ×3 by the policy file's attribute, the same`, async () => {
      const clock = manualClock();
      const bits: PolicyBits = { limit: '20/5d', scale: true, attributes: { k: { acme: { licensed_agents: 3 } } } };
      const sluice = await Sluice.open({ policy: policy('sliding-log', bits), store: await store.open(), clock: clock.now });
      expect(await drive(sluice, 'acme', 60)).toBe(60);
      expect(await reload(sluice, 'gcra', bits, 'acme')).toBe(false);
      expect(await reload(sluice, 'sliding-log', bits, 'acme')).toBe(false);
      expect(await drive(sluice, 'acme', 60)).toBe(0);
      await sluice.close();
    });

    it(`${store.name}: a factor only the request carries is read conservatively out of gcra, and released a window later`, async () => {
      const clock = manualClock();
      // The file scales another tenant ×4: a request could scale this one as much.
      const bits: PolicyBits = { scale: true, attributes: { k: { other: { licensed_agents: 4 } } } };
      const sluice = await Sluice.open({ policy: policy('gcra', bits), store: await store.open(), clock: clock.now });
      const byRequest = { licensed_agents: '3' };
      expect(await drive(sluice, 'req', 180, 1, byRequest)).toBe(180);
      sluice.setPolicy(policy('sliding-log', bits));
      // Read with the rule's default (×1) it held 60 units: 120 more of the request's 180.
      expect(await drive(sluice, 'req', 180, 1, byRequest)).toBe(0);
      sluice.setPolicy(policy('gcra', bits));
      expect(await drive(sluice, 'req', 180, 1, byRequest)).toBe(0);
      clock.advance(2 * 60_000 + 1_000);
      expect(await drive(sluice, 'req', 180, 1, byRequest)).toBeGreaterThan(0);
      await sluice.close();
    });

    it(`${store.name}: a LOWER override (30/1m) at its limit converted into gcra reads all its units`, async () => {
      const clock = manualClock();
      const sluice = await Sluice.open({ policy: policy('sliding-log'), store: await store.open(), clock: clock.now });
      await sluice.store.setOverride({ key: 'r|small', rule: 'r', keyValues: { k: 'small' }, limit: 30, windowMs: 60_000 });
      expect(await drive(sluice, 'small', 30)).toBe(30);
      sluice.setPolicy(policy('gcra'));
      // The old code wrote a TAT of 30 × 1 s (the base 60/1m interval): 15 of 30 units, 15 more admitted.
      expect(await drive(sluice, 'small', 30)).toBe(0);
      // GCRA then lets the units go one 2 s interval at a time, not a fresh budget.
      clock.advance(10_000);
      expect(await drive(sluice, 'small', 30)).toBeLessThanOrEqual(5);
      await sluice.close();
    });
  }
});

describe('property: reloads through any chain of algorithms never give a key more room than it had', () => {
  const ALGORITHMS: Algorithm[] = ['sliding-log', 'sliding-window', 'fixed-window', 'gcra', 'rolling-quota'];
  type Custom = { kind: 'none' } | { kind: 'runtime' | 'file'; limit: number; window: '30s' | '1m' | '2m' } | { kind: 'store-scale' | 'file-scale'; factor: number };
  const WINDOW_MS = { '30s': 30_000, '1m': 60_000, '2m': 120_000 };
  const custom: fc.Arbitrary<Custom> = fc.oneof(
    fc.constant({ kind: 'none' as const }),
    fc.record({ kind: fc.constantFrom('runtime' as const, 'file' as const), limit: fc.integer({ min: 3, max: 200 }), window: fc.constantFrom('30s' as const, '1m' as const, '2m' as const) }),
    fc.record({ kind: fc.constantFrom('store-scale' as const, 'file-scale' as const), factor: fc.integer({ min: 1, max: 5 }) }),
  );
  const scenario = fc.record({
    keys: fc.array(custom, { minLength: 1, maxLength: 4 }),
    start: fc.constantFrom(...ALGORITHMS),
    // Each call: which key, how long after the previous one (ms), its cost.
    history: fc.array(fc.record({ key: fc.nat(3), gap: fc.integer({ min: 0, max: 6_000 }), cost: fc.integer({ min: 1, max: 12 }) }), { maxLength: 40 }),
    chain: fc.array(fc.constantFrom(...ALGORITHMS), { minLength: 1, maxLength: 4 }),
  });

  for (const store of STORES) {
    it(`${store.name}: admitted after the reloads ≤ what the key's own limit had left before them`, async () => {
      await fc.assert(
        fc.asyncProperty(scenario, async ({ keys, start, history, chain }) => {
          const bits: PolicyBits = { scale: true, overrides: [], attributes: { k: {} } };
          const limits: number[] = [];
          keys.forEach((c, i) => {
            const k = `key${i}`;
            if (c.kind === 'file') bits.overrides!.push({ rule: 'r', key: { k }, limit: `${c.limit}/${c.window}` });
            if (c.kind === 'file-scale') bits.attributes!.k[k] = { licensed_agents: c.factor };
            limits.push(c.kind === 'none' ? 60 : 'factor' in c ? 60 * c.factor : c.limit);
          });
          const clock = manualClock();
          const sluice = await Sluice.open({ policy: policy(start, bits), store: await store.open(), clock: clock.now });
          try {
            for (const [i, c] of keys.entries()) {
              if (c.kind === 'runtime') await sluice.store.setOverride({ key: `r|key${i}`, rule: 'r', keyValues: { k: `key${i}` }, limit: c.limit, windowMs: WINDOW_MS[c.window] });
              if (c.kind === 'store-scale') await sluice.store.setAttributes(`k:key${i}`, { licensed_agents: c.factor });
            }
            for (const h of history) {
              clock.advance(h.gap);
              await sluice.check({ k: `key${h.key % keys.length}` }, { cost: h.cost });
            }
            const room: number[] = [];
            for (let i = 0; i < keys.length; i++) {
              const [peek] = await sluice.peek({ k: `key${i}` });
              expect(peek.usage.limit).toBe(limits[i]);
              room.push(peek.usage.remaining);
            }
            const admitted = keys.map(() => 0);
            let last = start;
            for (const a of chain) {
              if (a === last) continue;
              last = a;
              sluice.setPolicy(policy(a, bits));
              for (let i = 0; i < keys.length; i++) if ((await sluice.check({ k: `key${i}` })).allowed) admitted[i]++;
            }
            for (let i = 0; i < keys.length; i++) admitted[i] += await drive(sluice, `key${i}`, limits[i]);
            // One unit of rounding: counters weigh, logs count.
            for (let i = 0; i < keys.length; i++) expect({ key: i, custom: keys[i], admitted: admitted[i] }).toEqual({ key: i, custom: keys[i], admitted: Math.min(admitted[i], room[i] + 1) });
          } finally {
            await sluice.close();
          }
        }),
        { numRuns: store.name === 'memory' ? 150 : store.name === 'sqlite' ? 25 : 15 },
      );
    });
  }
});
