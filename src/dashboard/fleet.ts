import type { Logger } from 'pino';
import type { Store } from '../stores/store.js';
import type { DashboardRecorder } from './recorder.js';

/**
 * Across instances sharing Redis: once a second each instance writes a small hash, with a
 * TTL, of its last minute of per-second counts per rule and its most refused keys, and
 * registers itself in a sorted set scored by the time it last wrote. Any instance's
 * dashboard reads the instances seen in the last FRESH_MS and shows their sum and each.
 * Each command names one key, so it works on Redis Cluster as well.
 */
const WINDOW_S = 60;
const TTL_MS = 15_000;
const FRESH_MS = 10_000;
const TOP = 20;

/** The commands the fleet needs from the Redis client a store shares. */
interface FleetRedis {
  hset(key: string, fields: Record<string, string>): Promise<unknown>;
  pexpire(key: string, ms: number): Promise<unknown>;
  hgetall(key: string): Promise<Record<string, string>>;
  zadd(key: string, score: number, member: string): Promise<unknown>;
  zremrangebyscore(key: string, min: number | string, max: number | string): Promise<unknown>;
  zrangebyscore(key: string, min: number | string, max: number | string): Promise<string[]>;
  zrem(key: string, member: string): Promise<unknown>;
  del(key: string): Promise<unknown>;
}

/** A store that shares a Redis connection (the Redis store: `client` and its key prefix). */
interface SharesRedis {
  readonly client: FleetRedis;
  readonly keys: { readonly prefix: string };
}

function sharedRedis(store: Store): SharesRedis | undefined {
  // Look through wrappers (the engine's local cache of refused keys) to the store itself.
  let inner: Store & { inner?: Store } = store;
  while (inner.inner !== undefined) inner = inner.inner;
  const s = inner as Partial<SharesRedis>;
  return s.client && typeof s.client.hset === 'function' && typeof s.keys?.prefix === 'string' ? (s as SharesRedis) : undefined;
}

export interface InstanceReport {
  instance: string;
  at: number;
  /** Start of the first second of the counts. */
  t0: number;
  /** rule → per-second counts, oldest first (WINDOW_S of them). */
  rules: Record<string, { allowed: number[]; refused: number[]; dropped: number[] }>;
  top: { rule: string; key: Record<string, string>; count: number; error: number }[];
}

export interface FleetView {
  instances: (Omit<InstanceReport, 'rules'> & { lastMinute: Record<string, { allowed: number; refused: number; dropped: number }> })[];
  /** The sum over instances, per rule, aligned on the second. */
  total: { t0: number; stepMs: number; rules: Record<string, { allowed: number[]; refused: number[]; dropped: number[] }> };
  top: { rule: string; key: Record<string, string>; count: number; instances: number }[];
}

export class Fleet {
  private readonly zkey: string;
  private readonly hkey: string;
  private readonly prefix: string;
  private publishing = false;

  private constructor(
    private readonly redis: FleetRedis,
    prefix: string,
    readonly instance: string,
    private readonly recorder: DashboardRecorder,
    private readonly log: Logger,
  ) {
    this.prefix = `${prefix}dash:`;
    this.zkey = `${this.prefix}instances`;
    this.hkey = `${this.prefix}i:${instance}`;
  }

  /** The fleet over the store's Redis, or undefined when the store shares none. */
  static over(store: Store, instance: string, recorder: DashboardRecorder, log: Logger): Fleet | undefined {
    const r = sharedRedis(store);
    return r && new Fleet(r.client, r.keys.prefix, instance, recorder, log);
  }

  /** Publishes after every tick of the recorder. */
  start(): this {
    this.recorder.onTick((now) => void this.publish(now));
    return this;
  }

  async publish(now: number): Promise<void> {
    if (this.publishing) return; // a slow Redis: skip a second rather than queue them
    this.publishing = true;
    try {
      const series = this.recorder.series(1000, WINDOW_S, now);
      const rules: InstanceReport['rules'] = {};
      for (const s of series) if (s.totals.allowed + s.totals.refused + s.totals.dropped > 0) rules[s.rule] = { allowed: s.allowed, refused: s.refused, dropped: s.dropped };
      const top = this.recorder.topRefused(TOP).map((k) => ({ rule: k.rule, key: k.key, count: k.count, error: k.error }));
      const t0 = series.length ? series[0].t0 : Math.floor(now / 1000) * 1000 - (WINDOW_S - 1) * 1000;
      await this.redis.hset(this.hkey, { at: String(now), t0: String(t0), rules: JSON.stringify(rules), top: JSON.stringify(top) });
      await this.redis.pexpire(this.hkey, TTL_MS);
      await this.redis.zadd(this.zkey, now, this.instance);
      await this.redis.zremrangebyscore(this.zkey, '-inf', now - TTL_MS);
    } catch (e) {
      this.log.debug({ err: e }, 'dashboard: publishing to the fleet failed');
    } finally {
      this.publishing = false;
    }
  }

  /** Every instance seen in the last FRESH_MS, their sum, and the fleet's most refused keys. */
  async view(now: number): Promise<FleetView> {
    const names = await this.redis.zrangebyscore(this.zkey, now - FRESH_MS, '+inf');
    const reports: InstanceReport[] = [];
    for (const name of names.sort()) {
      const h = await this.redis.hgetall(`${this.prefix}i:${name}`);
      if (!h || !h.at) continue;
      try {
        reports.push({ instance: name, at: Number(h.at), t0: Number(h.t0), rules: JSON.parse(h.rules), top: JSON.parse(h.top) });
      } catch {
        // A hash written by something else: not an instance.
      }
    }
    return combine(reports, now);
  }

  async close(): Promise<void> {
    await this.redis.zrem(this.zkey, this.instance).catch(() => undefined);
    await this.redis.del(this.hkey).catch(() => undefined);
  }
}

/** Sums the instances' reports on a common minute ending at `now`. */
export function combine(reports: readonly InstanceReport[], now: number): FleetView {
  const t0 = Math.floor(now / 1000) * 1000 - (WINDOW_S - 1) * 1000;
  const rules: FleetView['total']['rules'] = {};
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  for (const r of reports) {
    for (const [rule, s] of Object.entries(r.rules)) {
      const t = (rules[rule] ??= { allowed: zeros(), refused: zeros(), dropped: zeros() });
      for (const f of ['allowed', 'refused', 'dropped'] as const) {
        s[f].forEach((v, i) => {
          const at = (r.t0 + i * 1000 - t0) / 1000;
          if (at >= 0 && at < WINDOW_S) t[f][at] += v;
        });
      }
    }
  }
  const top = new Map<string, FleetView['top'][number]>();
  for (const r of reports) {
    for (const k of r.top) {
      const id = JSON.stringify([k.rule, k.key]);
      const e = top.get(id);
      if (e) {
        e.count += k.count;
        e.instances++;
      } else top.set(id, { rule: k.rule, key: k.key, count: k.count, instances: 1 });
    }
  }
  return {
    instances: reports.map((r) => ({
      instance: r.instance,
      at: r.at,
      t0: r.t0,
      top: r.top.slice(0, 5),
      lastMinute: Object.fromEntries(Object.entries(r.rules).map(([rule, s]) => [rule, { allowed: sum(s.allowed), refused: sum(s.refused), dropped: sum(s.dropped) }])),
    })),
    total: { t0, stepMs: 1000, rules },
    top: [...top.values()].sort((a, b) => b.count - a.count).slice(0, TOP),
  };
}

function zeros(): number[] {
  return new Array<number>(WINDOW_S).fill(0);
}
