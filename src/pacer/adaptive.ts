import { parseRate, perSecond, type RateSpec } from './rate.js';

/**
 * Adaptive ("dynamic limit") settings: the key's rate moves between `min` and `max`
 * with the receiver's health.
 */
export interface AdaptiveOptions {
  /** Floor: never slower than this (a receiver is never starved entirely). */
  min: RateSpec;
  /** Ceiling: never faster than this, however healthy the receiver looks. */
  max: RateSpec;
  /** Starting rate (default: the pacer's `rate` for the key, else `min`), clamped to [min, max]. */
  initial?: RateSpec;
  /** Additive increase: jobs/s gained per second of healthy, busy sending. Default 5% of max. */
  increasePerSec?: number;
  /** Multiplicative decrease: the rate is multiplied by this on congestion. Default 0.7. */
  decrease?: number;
  /** An answer slower than this counts as congestion. Default: latency is not considered. */
  slowMs?: number;
}

export interface AimdChange {
  previous: number;
  ratePerSec: number;
  reason: 'increase' | 'decrease';
}

/**
 * AIMD rate control per receiver, the rule TCP congestion control has used since
 * Jacobson (1988): on every sign of overload multiply the rate by β < 1, otherwise add
 * a constant per unit of time. Why AIMD rather than something cleverer:
 *  - simple: two parameters, no model of the receiver, no latency estimator to tune;
 *  - provably converges: Chiu & Jain (1989) showed AIMD is the only linear scheme that
 *    drives senders sharing a bottleneck to both efficiency and a fair share, from any
 *    starting point (additive steps move every sender alike; multiplicative cuts shrink
 *    the bigger ones more), so several pacers (processes) feeding one webhook receiver
 *    settle on equal shares of its capacity without talking to each other;
 *  - well understood: the sawtooth between β·capacity and capacity, and how fast it
 *    recovers, are textbook, so the band it settles in can be predicted and tested.
 *
 * Additive increase is "per second", like TCP's "one segment per round trip": every
 * successful job adds increasePerSec / rate, so a key running at r jobs/s gains
 * increasePerSec each second. It grows only while the key has work waiting (an idle key
 * has proven nothing about a faster rate). One congestion episode cuts the rate once:
 * outcomes of jobs started before the last cut were sent at the old rate and are ignored,
 * as TCP ignores losses within the window that caused the cut.
 */
export class Aimd {
  readonly min: number;
  readonly max: number;
  readonly increasePerSec: number;
  readonly decrease: number;
  readonly slowMs?: number;
  rate: number;
  private lastCutAt = -Infinity;

  constructor(o: AdaptiveOptions, fallbackInitial?: RateSpec) {
    this.min = perSecond(parseRate(o.min));
    this.max = perSecond(parseRate(o.max));
    if (this.min > this.max) throw new RangeError(`adaptive: min rate ${this.min}/s exceeds max rate ${this.max}/s`);
    this.increasePerSec = o.increasePerSec ?? this.max * 0.05;
    if (!(this.increasePerSec > 0)) throw new RangeError(`adaptive: increasePerSec must be positive`);
    this.decrease = o.decrease ?? 0.7;
    if (!(this.decrease > 0 && this.decrease < 1)) throw new RangeError(`adaptive: decrease must be between 0 and 1 (exclusive)`);
    this.slowMs = o.slowMs;
    const init = o.initial ?? fallbackInitial;
    this.rate = this.clamp(init === undefined ? this.min : perSecond(parseRate(init)));
  }

  /** A healthy answer. `busy`: work is waiting on the key. */
  success(busy: boolean): AimdChange | undefined {
    if (!busy || this.rate >= this.max) return undefined;
    const previous = this.rate;
    this.rate = this.clamp(this.rate + this.increasePerSec / this.rate);
    return { previous, ratePerSec: this.rate, reason: 'increase' };
  }

  /** A sign of overload from a job started at `startedAt`; returns the cut if one was made. */
  congestion(startedAt: number, now: number): AimdChange | undefined {
    if (startedAt < this.lastCutAt) return undefined;
    this.lastCutAt = now;
    const previous = this.rate;
    this.rate = this.clamp(this.rate * this.decrease);
    return previous === this.rate ? undefined : { previous, ratePerSec: this.rate, reason: 'decrease' };
  }

  private clamp(r: number): number {
    return Math.min(this.max, Math.max(this.min, r));
  }
}
