/**
 * Clock steps, per algorithm and store: a steady demand of four times the limit runs for six
 * windows in real time while the clock the decisions see is stepped (−1 h, −1 min, −5 s: the
 * clock ran ahead and is corrected back; +1 day for a minute, then corrected) at several points
 * of a window. Real time is what the test counts in; no test sleeps.
 *
 * In every run:
 *  - no real-time window admits more than the same demand admits with no step at all (a step
 *    back never hands out a fresh budget); a forward step that reaches the store looks like a
 *    day that passed, so it may hand out one budget while the clock is wrong, never more;
 *  - once the clock is right again, no key waits longer than window + block for an admission
 *    (a step never locks a key out for the size of the step);
 *  - once the clock is right again, each Retry-After is within one window of the wait that was.
 *
 * Stores: memory and SQLite on Sluice's own monotonic clock (wall-clock steps do not reach the
 * decisions), memory and SQLite fed the stepped clock as it is (every algorithm's clamp of state
 * stamped ahead), SQLite across restarts at each step (each process anchors its monotonic clock
 * to the wall clock it starts with), and Redis fed the stepped clock (what a step of the Redis
 * host's clock does; the Lua twins clamp the same way).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { monotonicClock } from '../../src/engine/clock.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { SqliteStore } from '../../src/stores/sqlite.js';
import type { Store } from '../../src/stores/store.js';
import { connectRedisStore } from '../../src/stores/redis/connection.js';
import type { RedisStore } from '../../src/stores/redis/redis.js';
import { RedisServer, warnIfNoRedis } from '../helpers/redis-server.js';

const LIMIT = 10;
const W = 60_000;
const BLOCK = 30_000;
const DEMAND_EVERY = W / (4 * LIMIT);
const RUN_MS = 6 * W;
/** Granularity of what the test can see: a demand interval, and the window counter's one-unit estimate. */
const SLACK = 2 * DEMAND_EVERY + W / LIMIT;
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

/**
 * `edge`: the most a real-time window may see by design, whatever the clock: a fixed window
 * admits its limit at each edge, so twice the limit across one (when a step moves the edges, the
 * steady demand meets them at another phase than in the unstepped run).
 */
const RULES: Record<string, { algorithm: string; block?: string; edge?: number }> = {
  'sliding-log': { algorithm: 'sliding-log' },
  'sliding-window': { algorithm: 'sliding-window' },
  'fixed-window': { algorithm: 'fixed-window', edge: 2 * LIMIT },
  gcra: { algorithm: 'gcra' },
  'rolling-quota': { algorithm: 'rolling-quota' },
  concurrency: { algorithm: 'concurrency' },
  'sliding-log + block 30s': { algorithm: 'sliding-log', block: '30s' },
  'gcra + block 30s': { algorithm: 'gcra', block: '30s' },
};

interface Step {
  name: string;
  /** Clock minus real time, at real time r (ms since T0). */
  offset(r: number): number;
  /** Real time (ms since T0) from which the clock is right for good. */
  rightFrom: number;
  /** Real times at which the offset changes (a restart happens there). */
  changes: number[];
  forward: boolean;
}

/** Where in the second window the step happens. */
const POINTS = [0.1, 0.5, 0.9];

function steps(): Step[] {
  const out: Step[] = [];
  for (const frac of POINTS) {
    const at = W + frac * W;
    for (const [name, size] of [['−1 h', 3_600_000], ['−1 min', 60_000], ['−5 s', 5_000]] as const) {
      // The clock ran `size` ahead until `at`, then stepped back to the right time.
      out.push({ name: `${name} at ${frac} of a window`, offset: (r) => (r < at ? size : 0), rightFrom: at, changes: [at], forward: false });
    }
    out.push({
      name: `+1 day at ${frac} of a window, corrected a minute later`,
      offset: (r) => (r >= at && r < at + 60_000 ? 86_400_000 : 0),
      rightFrom: at + 60_000,
      changes: [at, at + 60_000],
      forward: true,
    });
  }
  return out;
}

interface Answer {
  r: number;
  allowed: boolean;
  retryAfterMs: number;
}

interface Door {
  name: string;
  /** Whether the decisions see the clock's steps (else the process's monotonic clock absorbs them). */
  seesSteps: boolean;
  run(rule: { algorithm: string; block?: string }, step: Step | undefined, id: string): Promise<Answer[]>;
}

function policyOf(rule: { algorithm: string; block?: string }) {
  return { rules: [{ name: 'r', key: 'k', limit: `${LIMIT}/1m`, algorithm: rule.algorithm as 'gcra', ...(rule.block ? { block: rule.block } : {}) }] };
}

/** Drives the demand; `engineAt(r)` is the engine deciding at real time r (a restart may swap it). */
async function drive(engineAt: (r: number) => Promise<Sluice>, id: string): Promise<Answer[]> {
  const out: Answer[] = [];
  for (let r = 0; r < RUN_MS; r += DEMAND_EVERY) {
    const d = await (await engineAt(r)).check({ k: id });
    out.push({ r, allowed: d.allowed, retryAfterMs: d.retryAfterMs });
  }
  return out;
}

let dir: string;
let n = 0;
const tmpDb = () => join(dir, `c${++n}.db`);

/** A door whose store sees the clock: one engine, on `clock` made from the real time `now.r`. */
function single(name: string, seesSteps: boolean, open: () => Promise<Store>, clockOf: (wall: () => number, real: () => number) => () => number): Door {
  return {
    name,
    seesSteps,
    async run(rule, step, id) {
      const now = { r: 0 };
      const wall = () => T0 + now.r + (step?.offset(now.r) ?? 0);
      const store = await open();
      const sluice = await Sluice.open({ policy: policyOf(rule), store, clock: clockOf(wall, () => now.r) });
      try {
        return await drive(async (r) => {
          now.r = r;
          return sluice;
        }, id);
      } finally {
        await sluice.close();
      }
    },
  };
}

const stepped = (wall: () => number) => wall;
const monotonic = (wall: () => number, real: () => number) => monotonicClock(wall, real);

const DOORS: Door[] = [
  single('memory, monotonic clock', false, async () => new MemoryStore(), monotonic),
  single('memory, stepped clock', true, async () => new MemoryStore(), stepped),
  single('sqlite, monotonic clock', false, async () => new SqliteStore(tmpDb(), { sweepIntervalMs: 0 }), monotonic),
  single('sqlite, stepped clock', true, async () => new SqliteStore(tmpDb(), { sweepIntervalMs: 0, sweepPerWrite: 50 }), stepped),
  {
    // A process per clock: restarted at every step, each anchoring its monotonic clock to the wall clock it starts with.
    name: 'sqlite across restarts',
    seesSteps: true,
    async run(rule, step, id) {
      const path = tmpDb();
      const now = { r: 0 };
      const wall = () => T0 + now.r + (step?.offset(now.r) ?? 0);
      const changes = [...(step?.changes ?? [])];
      let current: Sluice | undefined;
      const start = async () => {
        const store = new SqliteStore(path, { sweepIntervalMs: 0, sweepPerWrite: 50 });
        current = await Sluice.open({ policy: policyOf(rule), store, clock: monotonicClock(wall, () => now.r) });
        // The periodic sweep, as a fresh process runs it by its own clock.
        store.apply([], current.now());
        store.sweep();
      };
      try {
        return await drive(async (r) => {
          now.r = r;
          if (!current) await start();
          else if (changes.length && r >= changes[0]) {
            changes.shift();
            await current.close();
            await start();
          }
          return current!;
        }, id);
      } finally {
        await current?.close();
      }
    },
  },
];

let redisServer: RedisServer | undefined;
let redis: RedisStore | undefined;
const withRedis = warnIfNoRedis('clock steps on the redis store');
if (withRedis) {
  DOORS.push({
    name: 'redis, stepped host clock',
    seesSteps: true,
    async run(rule, step, id) {
      const now = { r: 0 };
      const sluice = await Sluice.open({ policy: policyOf(rule), store: redis!, clock: () => T0 + now.r + (step?.offset(now.r) ?? 0) });
      return drive(async (r) => {
        now.r = r;
        return sluice;
      }, id);
    },
  });
}

/** The most admissions in any real-time window of length W. */
function busiestWindow(answers: Answer[]): number {
  const at = answers.filter((a) => a.allowed).map((a) => a.r);
  let best = 0;
  for (let i = 0, j = 0; i < at.length; i++) {
    while (at[i] - at[j] >= W) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/** The longest real-time wait for an admission from `from` on. */
function longestWaitFrom(answers: Answer[], from: number): number {
  let last = from;
  let worst = 0;
  for (const a of answers) {
    if (a.r < from || !a.allowed) continue;
    worst = Math.max(worst, a.r - last);
    last = a.r;
  }
  return worst;
}

/** The worst gap between a refusal's Retry-After and the wait that followed it, from `from` on. */
function worstRetryAfterError(answers: Answer[], from: number): number {
  let worst = 0;
  let next: number | undefined;
  for (let i = answers.length - 1; i >= 0; i--) {
    const a = answers[i];
    if (a.allowed) next = a.r;
    else if (a.r >= from && next !== undefined) worst = Math.max(worst, Math.abs(a.retryAfterMs - (next - a.r)));
  }
  return worst;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-clock-'));
  if (withRedis) {
    redisServer = await RedisServer.start();
    redis = await connectRedisStore(`${redisServer.url}?clock=client`, { requireConnection: true, timeoutMs: 5000 });
  }
});
afterAll(async () => {
  await redis?.close();
  await redisServer?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('clock steps', () => {
  let id = 0;
  for (const [ruleName, rule] of Object.entries(RULES)) {
    describe(ruleName, () => {
      let baseline = 0;
      beforeAll(async () => {
        baseline = Math.max(rule.edge ?? 0, busiestWindow(await DOORS[1].run(rule, undefined, `base-${++id}`)));
        expect(baseline).toBeGreaterThanOrEqual(LIMIT);
      });
      for (const door of DOORS) {
        it(door.name, async () => {
          const problems: string[] = [];
          for (const step of steps()) {
            const answers = await door.run(rule, step, `k-${++id}`);
            const bound = baseline + (step.forward && door.seesSteps ? LIMIT : 0);
            const busiest = busiestWindow(answers);
            if (busiest > bound) problems.push(`${step.name}: ${busiest} admitted in one real minute (at most ${bound})`);
            const wait = longestWaitFrom(answers, step.rightFrom);
            const maxWait = W + (rule.block ? BLOCK : 0) + SLACK;
            if (wait > maxWait) problems.push(`${step.name}: waited ${wait} ms for an admission once the clock was right (at most ${maxWait})`);
            const err = worstRetryAfterError(answers, step.rightFrom);
            if (err > W + SLACK) problems.push(`${step.name}: a Retry-After was ${err} ms off the wait that followed`);
            expect(answers.some((a) => a.allowed && a.r > step.rightFrom)).toBe(true);
          }
          expect(problems).toEqual([]);
        });
      }
    });
  }
});
