/**
 * The store's circuit breaker. A hung store (Redis under SIGSTOP) made every decision
 * wait out the full command timeout (250 ms); after `failures` consecutive failures the
 * breaker opens and decisions go straight to the fallback without touching the store.
 * Every `cooldownMs` one decision at a time is let through as a probe: its success
 * closes the breaker (the store is used again), its failure keeps it open another
 * cooldown. Time comes from the engine's clock, so tests drive it by hand.
 */
export const STORE = 0;
export const PROBE = 1;
export const SKIP = 2;
export type Gate = typeof STORE | typeof PROBE | typeof SKIP;

export interface BreakerOptions {
  /** Consecutive store failures that open the breaker. Default 3. */
  failures?: number;
  /** How long the breaker stays open before a probe, ms. Default 500. */
  cooldownMs?: number;
}

export class CircuitBreaker {
  private readonly threshold: number;
  private readonly cooldownMs: number;
  private consecutive = 0;
  private isOpen = false;
  /** While open: when the next probe may go. */
  private probeAt = 0;
  private probing = false;
  /** Times the breaker opened, for metrics. */
  trips = 0;

  constructor(
    private readonly clock: () => number,
    opts: BreakerOptions = {},
  ) {
    this.threshold = Math.max(1, opts.failures ?? 3);
    this.cooldownMs = Math.max(0, opts.cooldownMs ?? 500);
  }

  get open(): boolean {
    return this.isOpen;
  }

  /** Where a decision goes now: the store, the store as the one probe, or straight to the fallback. */
  gate(): Gate {
    if (!this.isOpen) return STORE;
    if (this.probing || this.clock() < this.probeAt) return SKIP;
    this.probing = true;
    return PROBE;
  }

  success(gate: Gate): void {
    this.consecutive = 0;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: the probe test is redundant (a probe goes out only while open; once closed, nothing is probing), so resetting both when closed changes nothing
    if (gate === PROBE || this.isOpen) {
      // A probe came back, or a request sent before the breaker opened did: the store answers.
      this.isOpen = false;
      this.probing = false;
    }
  }

  failure(gate: Gate): void {
    if (gate === PROBE) {
      this.probing = false;
      this.probeAt = this.clock() + this.cooldownMs;
      return;
    }
    if (++this.consecutive >= this.threshold && !this.isOpen) {
      this.isOpen = true;
      this.probeAt = this.clock() + this.cooldownMs;
      this.trips++;
    }
  }
}
