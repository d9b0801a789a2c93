import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/**
 * How many Sluice instances share this Redis, so that during an outage each one's
 * fallback takes limit ÷ instances instead of the whole limit (../../engine/fallback.ts).
 *
 * Each instance beats every `intervalMs`: one script call adds its id to a sorted set
 * scored by the time of the beat, drops ids not seen for `ttlMs` (3 intervals: an
 * instance that died stops counting within that), and answers the set's size. The
 * count is the last one Redis answered, so it holds through an outage. Beats use the
 * Redis server's clock, or the caller's `now` (clock: 'client', tests).
 */
const BEAT_LUA = `
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return redis.call('ZCARD', KEYS[1])
`;

const LEAVE_LUA = `return redis.call('ZREM', KEYS[1], ARGV[1])`;

type BeatClient = (Redis | Cluster) & {
  sluiceBeat(key: string, now: string, id: string, ttl: string): Promise<number>;
  sluiceLeave(key: string, id: string): Promise<number>;
};

export interface InstancesOptions {
  /** Beat interval, ms (default 2000; 0: no timer, call beat() by hand). */
  intervalMs?: number;
  /** An id not seen for this long no longer counts (default 3 intervals, at least 1 s). */
  ttlMs?: number;
  /** This instance's id (default a random UUID). */
  id?: string;
}

export class Instances {
  readonly id: string;
  private readonly ttlMs: number;
  private timer: NodeJS.Timeout | undefined;
  private last = 1;

  constructor(
    private readonly client: Redis | Cluster,
    private readonly key: string,
    opts: InstancesOptions = {},
    /** The caller's clock for beats (clock: 'client'); undefined: the server's. */
    private readonly clientClock?: () => number,
  ) {
    this.id = opts.id ?? randomUUID();
    const interval = opts.intervalMs ?? 2000;
    this.ttlMs = opts.ttlMs ?? Math.max(1000, 3 * interval);
    client.defineCommand('sluiceBeat', { lua: BEAT_LUA, numberOfKeys: 1 });
    client.defineCommand('sluiceLeave', { lua: LEAVE_LUA, numberOfKeys: 1 });
    if (interval > 0) {
      this.timer = setInterval(() => void this.beat().catch(() => undefined), interval);
      this.timer.unref();
      // The first beat as soon as the connection is ready.
      if (client.status === 'ready') void this.beat().catch(() => undefined);
      else client.once('ready', () => void this.beat().catch(() => undefined));
    }
  }

  /** Live instances as last counted (1 until the first beat answers). */
  get count(): number {
    return this.last;
  }

  /** Beats once and returns the live count. */
  async beat(): Promise<number> {
    const now = this.clientClock ? this.clientClock() : -1;
    const n = Number(await (this.client as BeatClient).sluiceBeat(this.key, String(now), this.id, String(this.ttlMs)));
    if (Number.isInteger(n) && n >= 1) this.last = n;
    return this.last;
  }

  /** Stops beating and leaves the set (best effort). */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await (this.client as BeatClient).sluiceLeave(this.key, this.id).catch(() => undefined);
  }
}
