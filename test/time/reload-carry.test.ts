/**
 * Reloads that change a rule's algorithm or limit keep its counts: keys loaded to several
 * fractions of their limit (over several instants of the window, as traffic would) see the
 * policy change, explicitly or through the default (sliding log up to 1,000 per window,
 * sliding window above), then are driven until refused. A key may admit no more than what the
 * new limit leaves after what it had used (a fresh budget would admit the whole new limit),
 * no answer carries NaN, and no key stays refused once a new window has passed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { loadPolicy } from '../../src/policy/load.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { SqliteStore } from '../../src/stores/sqlite.js';
import type { Store } from '../../src/stores/store.js';
import { connectRedisStore } from '../../src/stores/redis/connection.js';
import { manualClock } from '../helpers/clock.js';
import { RedisServer, warnIfNoRedis } from '../helpers/redis-server.js';

interface RuleSpec {
  limit: string;
  algorithm?: string;
}

const EXPLICIT = ['sliding-log', 'sliding-window', 'fixed-window', 'gcra', 'rolling-quota'];

function transitions(): { name: string; from: RuleSpec; to: RuleSpec }[] {
  const out: { name: string; from: RuleSpec; to: RuleSpec }[] = [
    { name: 'default 2000/1m (sliding window) → default 500/1m (sliding log)', from: { limit: '2000/1m' }, to: { limit: '500/1m' } },
    { name: 'default 500/1m (sliding log) → default 2000/1m (sliding window)', from: { limit: '500/1m' }, to: { limit: '2000/1m' } },
    { name: 'gcra 100/1m → gcra 40/1m', from: { limit: '100/1m', algorithm: 'gcra' }, to: { limit: '40/1m', algorithm: 'gcra' } },
    { name: 'fixed-window 100/1m → fixed-window 100/2m', from: { limit: '100/1m', algorithm: 'fixed-window' }, to: { limit: '100/2m', algorithm: 'fixed-window' } },
    { name: 'sliding-window 100/1m → sliding-window 60/30s', from: { limit: '100/1m', algorithm: 'sliding-window' }, to: { limit: '60/30s', algorithm: 'sliding-window' } },
  ];
  for (const a of EXPLICIT) {
    for (const b of EXPLICIT) {
      if (a !== b) out.push({ name: `${a} 100/1m → ${b} 80/1m`, from: { limit: '100/1m', algorithm: a }, to: { limit: '80/1m', algorithm: b } });
    }
  }
  return out;
}

function policy(spec: RuleSpec) {
  return loadPolicy({ rules: [{ name: 'r', key: 'k', limit: spec.limit, ...(spec.algorithm ? { algorithm: spec.algorithm as 'gcra' } : {}) }] });
}

const KEYS = 8;
let dir: string | undefined;
let n = 0;
let redisServer: RedisServer | undefined;
const STORES: { name: string; open(): Promise<Store> }[] = [
  { name: 'memory', open: async () => new MemoryStore() },
  {
    name: 'sqlite',
    open: async () => {
      dir ??= mkdtempSync(join(tmpdir(), 'sluice-reload-'));
      return new SqliteStore(join(dir, `r${++n}.db`), { sweepIntervalMs: 0 });
    },
  },
];
if (warnIfNoRedis('reload carry-over on the redis store')) {
  STORES.push({
    name: 'redis',
    open: async () => {
      redisServer ??= await RedisServer.start();
      // A prefix per engine: each transition starts from no state. The injected clock: clock=client.
      return connectRedisStore(`${redisServer.url}?clock=client&prefix=r${++n}:`, { requireConnection: true, timeoutMs: 5000 });
    },
  });
}
afterAll(async () => {
  await redisServer?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const hasNaN = (headers: Record<string, string>) => Object.values(headers).some((v) => /NaN|undefined|null/.test(v));

describe('reloads keep counts', () => {
  for (const store of STORES) {
    it(`${store.name}: ${transitions().length} switches of algorithm and limit, both ways: no fresh budget, no NaN`, async () => {
      const fresh: string[] = [];
      const nan: string[] = [];
      const locked: string[] = [];
      let checked = 0;
      for (const t of transitions()) {
        const clock = manualClock();
        const before = policy(t.from);
        const after = policy(t.to);
        const sluice = await Sluice.open({ policy: before, store: await store.open(), clock: clock.now });
        const oldLimit = before.rules[0].params.limit;
        const newLimit = after.rules[0].params.limit;
        // Load: key i uses (i + 1) / (KEYS + 1) of its limit, in five rounds over 20 s.
        for (let round = 0; round < 5; round++) {
          for (let i = 0; i < KEYS; i++) {
            const cost = Math.floor(((i + 1) / (KEYS + 1)) * oldLimit / 5);
            if (cost > 0) await sluice.check({ k: `key${i}` }, { cost });
          }
          clock.advance(4_000);
        }
        const used: number[] = [];
        for (let i = 0; i < KEYS; i++) {
          const peek = await sluice.peek({ k: `key${i}` });
          used.push(oldLimit - peek[0].usage.remaining);
        }
        // Under load: a check per key is in flight while the policy changes.
        const inFlight = Array.from({ length: KEYS }, (_, i) => sluice.check({ k: `key${i}` }));
        const changes = sluice.setPolicy(after);
        expect(changes.map((c) => c.rule)).toEqual(['r']);
        for (const d of await Promise.all(inFlight)) if (hasNaN(d.headers)) nan.push(`${t.name}: in flight at the reload: ${JSON.stringify(d.headers)}`);
        for (let i = 0; i < KEYS; i++) {
          let admitted = 0;
          for (let tries = 0; tries <= newLimit + 2; tries++) {
            const d = await sluice.check({ k: `key${i}` });
            checked++;
            if (!Number.isFinite(d.remaining) || hasNaN(d.headers)) nan.push(`${t.name}, key${i}: ${JSON.stringify(d.headers)}`);
            if (!d.allowed) break;
            admitted++;
          }
          // What the new limit leaves after the units used (one unit of rounding: counters weigh, logs count).
          const room = Math.max(0, newLimit - used[i]) + 1;
          if (used[i] > 1 && admitted > room) fresh.push(`${t.name}, key${i}: used ${used[i]} of ${oldLimit}, then ${admitted} admitted under ${newLimit}`);
        }
        // Nothing is refused for good: two new windows later every key is admitted again.
        clock.advance(2 * after.rules[0].params.windowMs + 1_000);
        for (let i = 0; i < KEYS; i++) if (!(await sluice.check({ k: `key${i}` })).allowed) locked.push(`${t.name}, key${i}`);
        await sluice.close();
      }
      expect(checked).toBeGreaterThan(1000);
      expect({ fresh, nan, locked }).toEqual({ fresh: [], nan: [], locked: [] });
    });
  }

  it('says when a reload changes the default algorithm of a rule', () => {
    const sluice = Sluice.openSync({ policy: policy({ limit: '2000/1m' }) });
    const [change] = sluice.setPolicy(policy({ limit: '500/1m' }));
    expect(change.message).toMatch(/sliding-window .* to sliding-log .*default algorithm/);
    expect(sluice.setPolicy(policy({ limit: '500/1m' }))).toEqual([]);
  });
});
