import type { BackoffOptions } from '../client/backoff.js';
import type { Clock } from '../client/clock.js';
import type { Store } from '../stores/store.js';
import type { AdaptiveOptions } from './adaptive.js';
import type { Outcome } from './outcome.js';
import type { RateSpec } from './rate.js';

/* The pacer's public types: its options, jobs, counts and events. */

/** What the pacer hands a job besides its AbortSignal. */
export interface JobContext {
  key: string;
  /** 0 for the first run, 1 for the first retry, ... */
  attempt: number;
  /** Tell the pacer how the receiver answered (wins over inspecting a returned Response). */
  report(outcome: Outcome): void;
}

/** A unit of work. Return a fetch Response to let the pacer read status and Retry-After. */
export type Job<T> = (signal: AbortSignal, ctx: JobContext) => Promise<T> | T;

export type OverflowPolicy = 'reject' | 'drop-oldest' | 'drop-newest';

export interface RetryOptions extends Partial<BackoffOptions> {
  /** Retries after the first run (default 0: failures are final). */
  attempts: number;
}

export interface PacerOptions {
  /** Names the shared store keys (`pacer|<name>|<key>`): pacers with the same name share rates. Default "default". */
  name?: string;
  /** Where reservations are made; share a Redis store to share the rate across processes. Default: a MemoryStore. */
  store?: Store;
  /** Sending speed per key; a function gives each key its own. Required unless `adaptive` is set. */
  rate?: RateSpec | ((key: string) => RateSpec);
  /** Jobs that may leave back to back before even spacing applies (default 1; a rate object's burst wins). */
  burst?: number;
  /** Jobs running at once, over all keys (default 64). */
  concurrency?: number;
  /** Jobs running at once per key (default: no limit beyond `concurrency`). */
  keyConcurrency?: number;
  /** Jobs waiting per key before `onFull` applies (default 100,000). */
  maxQueue?: number;
  /** What to do with a job when its key's queue is full (default 'reject': QueueFullError). */
  onFull?: OverflowPolicy;
  /** Time source (default: the system clock). Tests pass a fake one whose sleep resolves when they advance time. */
  clock?: Clock;
  /** Adaptive rate per key (AIMD between min and max), for receivers with a "dynamic limit". */
  adaptive?: AdaptiveOptions | ((key: string) => AdaptiveOptions | undefined);
  /** Abort a job's signal after this long (and count it as a timeout: congestion). */
  timeoutMs?: number;
  /** Retry failed jobs that are worth retrying (transport errors, timeouts, 408/429/5xx). */
  retry?: RetryOptions;
  /** Idle keys kept for stats and adaptive state before the oldest are forgotten (default 10,000). */
  maxKeys?: number;
  /** Randomness for retry jitter (tests). */
  random?: () => number;
}

export interface ScheduleOptions {
  /** Higher runs first (default 0). FIFO within a priority. */
  priority?: number;
  /** Cancels the job while queued (its promise rejects with the signal's reason) or aborts it while running. */
  signal?: AbortSignal;
}

/** What happened to jobs so far. */
export interface PacerCounts {
  /** Finished and not failed. */
  sent: number;
  /** Finished as failures: threw, or returned a Response with status >= 400 (after retries). */
  failed: number;
  /** Evicted by 'drop-oldest' / 'drop-newest'. */
  dropped: number;
  /** Refused at schedule() with QueueFullError. */
  rejected: number;
  /** Cancelled by their signal, or handed back by stop({ drain: false }). */
  cancelled: number;
  /** Retries made. */
  retried: number;
}

export interface PacerStats extends PacerCounts {
  /** Waiting to start (including failed jobs waiting to retry). */
  queued: number;
  running: number;
  /** The rate in force now, in jobs per second (summed over keys with work when no key is given). */
  ratePerSec: number;
  /** Jobs started per second, measured over the last few seconds. */
  throughputPerSec: number;
  /** Epoch ms until which the key is paused by a Retry-After (key stats only). */
  pausedUntil?: number;
}

/** A job that never started, returned by stop({ drain: false }). */
export interface StoppedJob {
  key: string;
  job: Job<unknown>;
  priority: number;
  /** Runs already made (non-zero for jobs waiting to retry). */
  attempt: number;
}

export interface PacerEvents {
  sent: { key: string; result: unknown; latencyMs: number; attempt: number };
  failed: { key: string; error?: unknown; result?: unknown; latencyMs: number; attempt: number };
  retry: { key: string; attempt: number; delayMs: number; error?: unknown; result?: unknown };
  drop: { key: string; job: Job<unknown>; policy: 'drop-oldest' | 'drop-newest' };
  rate: { key: string; ratePerSec: number; previous: number; reason: 'increase' | 'decrease' | 'set' };
  pause: { key: string; untilMs: number; retryAfterMs: number };
  'store-error': { key: string; error: unknown; retryInMs: number };
}
