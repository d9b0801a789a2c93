import type { RateLimitInfo } from './headers.js';

/** Send times kept per key (enough for the q of any policy paced by its own log). */
const MAX_LOG = 1024;
/** Slack past the window before a unit counts as free: the requests' trips differ by a few ms. */
const MIN_SLACK_MS = 10;
const SLACK_SHARE = 0.02;

/** A published limit to pace against: `limit` requests per `windowMs`, evenly spaced. */
export interface PaceLimit {
  limit: number;
  windowMs: number;
  /** Requests allowed back-to-back before even spacing applies (default 1: no burst). */
  burst?: number;
}

export interface PacerStateOptions {
  limit?: PaceLimit;
  /** Added to configured windows and server reset times, to absorb jitter and clock skew. */
  marginMs?: number;
  /** Spread remaining requests evenly once remaining <= this fraction of the limit (while the server's window is not known). */
  lowWatermark?: number;
}

/**
 * Pacing state for one key: when may the next request go out? Pure bookkeeping, no timers,
 * so it can be tested by passing times in. Three independent constraints are combined and
 * the latest one wins:
 *  1. the configured limit, as GCRA (a virtual-scheduling token bucket) so spacing is even;
 *  2. what the server said: remaining/reset from headers, spreading the last few requests
 *     over the time left and stopping at remaining = 0 — until the reset, or, when the
 *     policy (RateLimit-Policy q and w) is known, until the oldest of this key's last q sends
 *     leaves the window, whichever comes first: a rolling window reports its full reset (t),
 *     but frees a unit as soon as the oldest request in it ages out, and t is whole seconds;
 *     A sliding-window counter (two fixed windows on the epoch, the previous one weighted by
 *     its overlap, as Cloudflare and Sluice count) reports t up to two windows: seeing t > w,
 *     the key paces by that counter over its own sends instead (counterFreeAt), since the oldest
 *     send leaving the window does not free a unit there;
 *  3. explicit blocks (429 Retry-After) and quota exhaustion (509).
 */
export class PacerState {
  private readonly intervalMs: number;
  private readonly toleranceMs: number;
  private readonly marginMs: number;
  private readonly lowWatermark: number;
  /** GCRA theoretical arrival time of the next request. */
  private tat = -Infinity;

  policy?: string;
  limit?: number;
  windowMs?: number;
  /** Our estimate of the server's remaining budget, decremented locally as we send. */
  remaining?: number;
  /** When the server's window resets (absolute ms), margin included. */
  resetAt?: number;
  blockedUntil = -Infinity;
  exhaustedUntil = -Infinity;
  exhaustedPolicy?: string;
  lastSendAt = -Infinity;
  inFlight = 0;
  /**
   * After a reset with no known limit we do not know the new budget; let a single request
   * through and wait for its response before sending more, rather than stampeding.
   */
  private probing = false;
  /** Until the first response, with no configured limit: one request at a time finds the budget out. */
  private contacted = false;
  /** The server counts in two weighted fixed windows (it reported a reset past one window): see counterFreeAt. */
  private twoWindows = false;
  /** When the last answer with a budget came, and the remaining it left (less the requests then in flight). */
  private observedAt = -Infinity;
  private observedRemaining = 0;
  /**
   * The last requests the server counted (at most MAX_LOG), in send order: this client's own
   * rolling log. An answered one is stamped with when its answer came (the server counted it
   * no later); one in flight has no stamp yet (it counts as now).
   */
  private readonly sends: { at?: number }[] = [];

  constructor(options: PacerStateOptions = {}) {
    const { limit } = options;
    this.marginMs = Math.max(0, options.marginMs ?? 0);
    this.lowWatermark = options.lowWatermark ?? 0.2;
    if (limit && limit.limit > 0 && limit.windowMs > 0) {
      this.intervalMs = (limit.windowMs + this.marginMs) / limit.limit;
      this.toleranceMs = this.intervalMs * (Math.max(1, Math.floor(limit.burst ?? 1)) - 1);
    } else {
      this.intervalMs = 0;
      this.toleranceMs = 0;
    }
  }

  /** Earliest time a request may be sent (>= now), or Infinity while waiting for a probe's answer. */
  nextSendAt(now: number): number {
    this.roll(now);
    if ((this.probing || (!this.contacted && this.intervalMs === 0)) && this.inFlight > 0) return Infinity;
    let at = Math.max(now, this.blockedUntil);
    if (this.intervalMs > 0) at = Math.max(at, this.tat - this.toleranceMs);
    if (this.remaining !== undefined && this.resetAt !== undefined) {
      if (this.remaining <= 0) {
        at = Math.max(at, Math.min(this.resetAt, this.twoWindows ? this.counterFreeAt(now) : this.oldestLeavesAt()));
      } else if (this.isLow() && Number.isFinite(this.lastSendAt)) {
        // Treat the reset as the (remaining+1)th slot so the last request is not wasted at the reset.
        const gap = Math.max(0, this.resetAt - this.lastSendAt) / (this.remaining + 1);
        at = Math.max(at, this.lastSendAt + gap);
      }
    }
    return at;
  }

  /** Records that a request was sent at `now`. Call only when nextSendAt(now) <= now. */
  commit(now: number): void {
    if (this.intervalMs > 0) this.tat = Math.max(this.tat, now) + this.intervalMs;
    if (this.remaining !== undefined) this.remaining = Math.max(0, this.remaining - 1);
    this.lastSendAt = now;
    this.inFlight++;
    this.sends.push({});
    if (this.sends.length > MAX_LOG) this.sends.shift();
  }

  /**
   * When one of the policy's q units is free again by this key's own sends: the q-th latest
   * send plus the window (and slack for the requests' trips). Infinity when the policy is not
   * known or this client did not send q requests lately (the budget went elsewhere: wait for the reset).
   */
  private oldestLeavesAt(): number {
    const q = this.limit;
    const w = this.windowMs;
    if (q === undefined || w === undefined || !(q >= 1) || q > this.sends.length) return Infinity;
    // The q-th latest stamp, read in place (no copy and sort of up to 1,024 per poll): the log is the
    // counted sends' stamps, non-decreasing (see complete), then the sends in flight (Infinity).
    const at = this.sends[this.sends.length - Math.floor(q)].at ?? Infinity;
    return at + w + this.marginMs + Math.max(MIN_SLACK_MS, w * SLACK_SHARE);
  }

  /**
   * When a sliding-window counter of q per w, counting this key's own sends, has room for one
   * more: the earliest t >= now where prev × (1 − (t − start)/w) + curr + 1 <= q, windows on the
   * epoch. A send is counted in the window its answer came in (the server counted it no later:
   * a count moved from the previous window to the current one only raises the estimate), one
   * in flight at now. Infinity when the policy is not known, or when the budget went elsewhere:
   * at the last answer, the server left less than this key's own sends did (wait for the reset).
   */
  private counterFreeAt(now: number): number {
    const q = this.limit;
    const w = this.windowMs;
    if (q === undefined || w === undefined || !(q >= 1)) return Infinity;
    // Slack for the server counting a send a little before its answer came (a heavier previous window).
    if (this.counterRoom(this.observedAt, q, w) >= this.observedRemaining + 1.1) return Infinity;
    let t = now;
    for (let i = 0; i < 3; i++) {
      const start = Math.floor(t / w) * w;
      const [prev, curr] = this.countsAround(start, w, now);
      if (curr + 1 <= q) {
        if (prev === 0) return t;
        const free = start + (1 - (q - curr - 1) / prev) * w;
        // The same slack as a rolling log's: the server's clock may run behind this one by a few
        // ms. It delays each unit, but does not add up: free instants sit on the window grid.
        if (free < start + w) return Math.max(t, free + this.marginMs + Math.max(MIN_SLACK_MS, w * SLACK_SHARE));
      }
      t = start + w;
    }
    return Infinity;
  }

  /** The room a two-window counter of this key's own sends leaves at `at`: q − the weighted estimate. */
  private counterRoom(at: number, q: number, w: number): number {
    if (!Number.isFinite(at)) return 0;
    const start = Math.floor(at / w) * w;
    const [prev, curr] = this.countsAround(start, w, at);
    return q - (prev * (1 - (at - start) / w) + curr);
  }

  /** This key's sends counted in the window before `start` and in the one from `start` (one in flight counts at `now`). */
  private countsAround(start: number, w: number, now: number): [number, number] {
    let prev = 0;
    let curr = 0;
    for (const e of this.sends) {
      const at = e.at ?? now;
      if (at >= start && at < start + w) curr++;
      else if (at >= start - w && at < start) prev++;
    }
    return [prev, curr];
  }

  /** This key's sends within the last window before `now`. */
  private sentWithin(now: number, windowMs: number): number {
    let n = 0;
    for (const e of this.sends) if (e.at === undefined || e.at > now - windowMs) n++;
    return n;
  }

  /**
   * A request finished (response or error); `info` is what its headers said, if anything.
   * `counted`: false when the server refused it (429, 503, 509) or it was never sent, so it
   * leaves this client's log of the budget it used.
   */
  complete(now: number, info?: RateLimitInfo, counted = true): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    const i = this.sends.findIndex((e) => e.at === undefined);
    if (i >= 0) {
      // Never before the previous stamp (a wall clock may step back): the stamps stay sorted.
      if (counted) this.sends[i].at = i > 0 ? Math.max(now, this.sends[i - 1].at!) : now;
      else this.sends.splice(i, 1);
    }
    this.contacted = true;
    if (info) this.observe(now, info);
    // Whatever the probe learned (or did not), the next request may now go and find out more.
    this.probing = false;
  }

  observe(now: number, info: RateLimitInfo): void {
    if (info.policy !== undefined) this.policy = info.policy;
    if (info.limit !== undefined) this.limit = info.limit;
    if (info.windowMs !== undefined && info.windowMs > 0) this.windowMs = info.windowMs;
    if (info.remaining !== undefined) {
      const resetMs = info.resetMs ?? this.windowMs;
      if (resetMs === undefined) return; // a budget with no horizon cannot be paced
      // Requests still in flight may not be counted by the server yet: assume they were not.
      this.remaining = Math.max(0, info.remaining - this.inFlight);
      this.resetAt = now + resetMs + this.marginMs;
      this.observedAt = now;
      this.observedRemaining = this.remaining;
      // Only a counter that remembers the previous window clears later than a window from now.
      if (this.windowMs !== undefined && resetMs > this.windowMs) this.twoWindows = true;
    }
  }

  /** No request before `until` (e.g. a 429 Retry-After). Blocks only ever extend. */
  block(until: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, until);
  }

  exhaust(until: number, policy?: string): void {
    if (until > this.exhaustedUntil) {
      this.exhaustedUntil = until;
      this.exhaustedPolicy = policy;
    }
  }

  isExhausted(now: number): boolean {
    return now < this.exhaustedUntil;
  }

  /** True when forgetting this state would change nothing (used to bound memory across many keys). */
  isIdle(now: number): boolean {
    return (
      this.inFlight === 0 &&
      now >= this.blockedUntil &&
      now >= this.exhaustedUntil &&
      now >= this.tat - this.toleranceMs &&
      (this.resetAt === undefined || now >= this.resetAt)
    );
  }

  private isLow(): boolean {
    if (this.remaining === undefined) return false;
    // Without a known limit we cannot tell "low" from "plenty", so always spread: conservative.
    if (this.limit === undefined || this.limit <= 0) return true;
    // With the policy's window known, what remains is sent when asked for, and at remaining = 0
    // this key's own log tells when a unit frees: spreading over the reset (a rolling window's
    // t is when it clears whole) would leave units unused.
    if (this.windowMs !== undefined) return false;
    return this.remaining <= this.limit * this.lowWatermark;
  }

  /** Moves to the next server window once the reset time has passed. */
  private roll(now: number): void {
    if (this.resetAt === undefined || now < this.resetAt) return;
    if (this.limit !== undefined && this.windowMs !== undefined) {
      // Assume a fresh window starting now, less what this key sent within the last window (a
      // rolling window still counts those): conservative when the server's window is aligned
      // differently, and corrected by the next response's headers anyway.
      this.remaining = Math.max(0, this.limit - this.sentWithin(now, this.windowMs));
      this.resetAt = now + this.windowMs + this.marginMs;
    } else {
      this.remaining = undefined;
      this.resetAt = undefined;
      this.probing = true;
    }
  }
}
