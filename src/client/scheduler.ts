import type { Clock } from './clock.js';
import type { RateLimitInfo } from './headers.js';
import { PacerState, type PacerStateOptions } from './pacer-state.js';

interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
  onWait?: (delayMs: number) => void;
  /** Each waiter reports its wait once, when it reaches the head of the queue. */
  notified: boolean;
  detach(): void;
}

interface KeyEntry {
  state: PacerState;
  queue: Waiter[];
  pumping: boolean;
  /** Aborted to wake the pump early when something changed (a response, a cancelled waiter). */
  wake?: AbortController;
}

/**
 * Per-key FIFO gate in front of the network. One "pump" per busy key sleeps until the
 * key's PacerState allows a send and then releases exactly one waiter, re-checking after
 * every sleep because responses may have changed the state meanwhile. FIFO keeps retries
 * and new requests fair, and a single sleeper per key avoids a thundering herd of timers.
 */
export class Scheduler {
  private readonly keys = new Map<string, KeyEntry>();

  constructor(
    private readonly clock: Clock,
    private readonly stateOptions: PacerStateOptions = {},
    private readonly maxKeys = 10_000,
  ) {}

  /** The pacing state for a key (created on first use). */
  state(key: string): PacerState {
    return this.entry(key).state;
  }

  /**
   * Resolves when a request on `key` may be sent, having reserved that send (call
   * `complete` afterwards). Rejects with `signal.reason` if aborted while queued.
   */
  acquire(key: string, signal?: AbortSignal, onWait?: (delayMs: number) => void): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const entry = this.entry(key);
    const now = this.clock.now();
    if (entry.queue.length === 0 && entry.state.nextSendAt(now) <= now) {
      entry.state.commit(now);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = entry.queue.indexOf(waiter);
        if (i >= 0) entry.queue.splice(i, 1);
        reject(signal?.reason);
        this.poke(entry);
      };
      const waiter: Waiter = {
        resolve,
        reject,
        onWait,
        notified: false,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      entry.queue.push(waiter);
      if (!entry.pumping) void this.pump(entry);
    });
  }

  /** A request acquired on `key` finished; `info` is what its response headers said; `counted`: see PacerState.complete. */
  complete(key: string, info?: RateLimitInfo, counted = true): void {
    const entry = this.entry(key);
    entry.state.complete(this.clock.now(), info, counted);
    this.poke(entry);
  }

  /** Hold every request on `key` until `until` (e.g. after a 429 with Retry-After). */
  block(key: string, until: number): void {
    this.entry(key).state.block(until);
  }

  /**
   * Marks `key` as out of quota until `until` and fails everyone already queued on it,
   * so they do not wait out pacing only to be refused.
   */
  exhaust(key: string, until: number, policy: string | undefined, makeError: () => unknown): void {
    const entry = this.entry(key);
    entry.state.exhaust(until, policy);
    const queued = entry.queue.splice(0);
    for (const w of queued) {
      w.detach();
      w.reject(makeError());
    }
    this.poke(entry);
  }

  private entry(key: string): KeyEntry {
    let entry = this.keys.get(key);
    if (!entry) {
      if (this.keys.size >= this.maxKeys) this.sweep();
      entry = { state: new PacerState(this.stateOptions), queue: [], pumping: false };
      this.keys.set(key, entry);
    }
    return entry;
  }

  /** Forgets keys whose state no longer constrains anything, so per-tenant keys do not leak. */
  private sweep(): void {
    const now = this.clock.now();
    for (const [key, entry] of this.keys) {
      if (entry.queue.length === 0 && !entry.pumping && entry.state.isIdle(now)) this.keys.delete(key);
    }
  }

  private poke(entry: KeyEntry): void {
    entry.wake?.abort();
  }

  private async pump(entry: KeyEntry): Promise<void> {
    entry.pumping = true;
    try {
      while (entry.queue.length > 0) {
        const now = this.clock.now();
        const at = entry.state.nextSendAt(now);
        if (at <= now) {
          const waiter = entry.queue.shift()!;
          entry.state.commit(now);
          waiter.detach();
          waiter.resolve();
          continue;
        }
        const head = entry.queue[0];
        if (!head.notified && Number.isFinite(at)) {
          head.notified = true;
          try {
            head.onWait?.(at - now);
          } catch {
            // A faulty listener must not stall the queue.
          }
        }
        const wake = new AbortController();
        entry.wake = wake;
        try {
          if (Number.isFinite(at)) {
            await this.clock.sleep(at - now, wake.signal);
          } else {
            await new Promise<void>((resolve) => wake.signal.addEventListener('abort', () => resolve(), { once: true }));
          }
        } catch {
          // Woken early on purpose; loop and re-evaluate.
        } finally {
          if (entry.wake === wake) entry.wake = undefined;
        }
      }
    } finally {
      entry.pumping = false;
    }
  }
}
