import { EventEmitter, setMaxListeners } from 'node:events';
import { fullJitter, type BackoffOptions } from '../client/backoff.js';
import { systemClock, type Clock } from '../client/clock.js';
import { MemoryStore } from '../stores/memory.js';
import type { OpResult, Store } from '../stores/store.js';
import { reserveSlot, slotRef, type SlotRef } from '../engine/reserve.js';
import { Aimd, type AdaptiveOptions } from './adaptive.js';
import { JobDroppedError, JobTimeoutError, PacerStoppedError, QueueFullError } from './errors.js';
import { isResponseLike, judge, outcomeOfError, outcomeOfResponse, type Outcome } from './outcome.js';
import { PriorityLanes, type Queued } from './queue.js';
import { Meter } from './meter.js';
import { parseRate, perSecond, type Rate, type RateSpec } from './rate.js';
import { Slots } from './slots.js';
import type { Job, JobContext, OverflowPolicy, PacerCounts, PacerEvents, PacerOptions, PacerStats, RetryOptions, ScheduleOptions, StoppedJob } from './types.js';

interface Entry extends Queued {
  key: string;
  job: Job<unknown>;
  attempt: number;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  signal?: AbortSignal;
  detach?: () => void;
  /** Waiting out a retry delay (not in the queue). */
  retrying?: boolean;
}

interface KeyState {
  key: string;
  /** Where its slots are reserved (`pacer|<name>|<key>`). */
  slot: SlotRef;
  rate: Rate;
  /** The rate the store actually applied (a run-time override in the store wins). */
  effectivePerSec?: number;
  aimd?: Aimd;
  /** Last rate announced in a 'rate' event, to report increases in steps rather than per job. */
  announced: number;
  queue: PriorityLanes<Entry>;
  retrying: Set<Entry>;
  running: number;
  pausedUntil: number;
  pumping: boolean;
  /** Aborted to cut the pump's sleep short (pause, stop, rate cut). */
  wake?: AbortController;
  /** Resolves the pump's wait for a running job of this key to finish. */
  kick?: () => void;
  counts: PacerCounts;
  meter: Meter;
  /** Consecutive store failures, for the backoff. */
  storeFailures?: number;
}

const zeroCounts = (): PacerCounts => ({ sent: 0, failed: 0, dropped: 0, rejected: 0, cancelled: 0, retried: 0 });

/** Reason for cancelling internal timers (cheap: no DOMException). */
const DONE = new Error('pacer: done');
/** Reason for cutting a pump's sleep short. */
const WAKE = new Error('pacer: wake');

const STORE_RETRY: BackoffOptions = { baseMs: 50, capMs: 5000 };

/**
 * Creates a pacer: a queue per key that releases work at the key's rate, with bounded
 * concurrency, priorities, back-pressure, adaptive rates and a clean stop.
 *
 * How the rate is kept, across processes: before each job a key's pump reserves the
 * next slot in the store with one GCRA op in mode 'force' (key `pacer|<name>|<key>`)
 * and sleeps until the slot. This is exact, not an approximation of "take and retry":
 * GCRA's whole state is the theoretical arrival time (TAT); 'force' advances it by one
 * emission interval and answers how long until a 'take' of that unit would have been
 * admitted, so the job starts precisely when polling with 'take' would first have
 * succeeded, without the polling. Because the TAT lives in the store, every pacer
 * sharing the store draws its slots from one sequence, so together they never exceed
 * the rate (plus the configured burst). A reservation is made only when work is waiting
 * and is used at once when it comes due; one abandoned (pause, stop, or a concurrency
 * wait that made it stale) is simply left unused, which can only slow the key, never
 * speed it up. Reserving ahead also means a late timer costs nothing: the next slot is
 * counted from the TAT, not from when the timer happened to fire.
 */
export function createPacer(options: PacerOptions): Pacer {
  return new Pacer(options);
}

export class Pacer extends EventEmitter {
  readonly name: string;
  readonly store: Store;
  readonly clock: Clock;
  private readonly rateOf?: (key: string) => RateSpec;
  private readonly adaptiveOf?: (key: string) => AdaptiveOptions | undefined;
  private readonly burst?: number;
  private readonly keyConcurrency: number;
  private readonly maxQueue: number;
  private readonly onFull: OverflowPolicy;
  private readonly timeoutMs?: number;
  private readonly retry: RetryOptions & BackoffOptions;
  private readonly maxKeys: number;
  private readonly random: () => number;
  private readonly slots: Slots;
  private readonly keyStates = new Map<string, KeyState>();
  private readonly totals: PacerCounts = zeroCounts();
  private readonly meter = new Meter();
  private readonly runningJobs = new Set<AbortController>();
  /** Aborted at a hard stop: cuts retry delays short. */
  private readonly halt = new AbortController();
  /**
   * The signal of jobs that need no signal of their own (no timeout, no caller signal):
   * one shared controller, aborted by stop({ abortRunning: true }). An AbortController
   * per job was the biggest single cost per job.
   */
  private readonly shared = new AbortController();
  private queuedTotal = 0;
  private runningTotal = 0;
  private stopping = false;
  private halted = false;
  private idleWaiters: (() => void)[] = [];
  private roomWaiters: { key?: string; below: number; resolve(): void }[] = [];

  constructor(o: PacerOptions) {
    super();
    setMaxListeners(0, this.shared.signal); // many running jobs may listen to it at once
    this.name = o.name ?? 'default';
    this.store = o.store ?? new MemoryStore();
    this.clock = o.clock ?? systemClock;
    if (o.rate === undefined && o.adaptive === undefined) throw new RangeError('createPacer: give a rate (like "80/s") or adaptive { min, max }');
    if (o.rate !== undefined) {
      const r = o.rate;
      if (typeof r === 'function') this.rateOf = r;
      else {
        parseRate(r); // fail fast on a bad rate
        this.rateOf = () => r;
      }
    }
    if (o.adaptive !== undefined) {
      const a = o.adaptive;
      this.adaptiveOf = typeof a === 'function' ? a : () => a;
    }
    this.burst = o.burst;
    const concurrency = o.concurrency ?? 64;
    if (!(concurrency >= 1)) throw new RangeError(`createPacer: concurrency must be at least 1 (got ${concurrency})`);
    this.slots = new Slots(concurrency);
    this.keyConcurrency = o.keyConcurrency ?? Infinity;
    if (!(this.keyConcurrency >= 1)) throw new RangeError(`createPacer: keyConcurrency must be at least 1`);
    this.maxQueue = o.maxQueue ?? 100_000;
    if (!(this.maxQueue >= 1)) throw new RangeError(`createPacer: maxQueue must be at least 1`);
    this.onFull = o.onFull ?? 'reject';
    if (!['reject', 'drop-oldest', 'drop-newest'].includes(this.onFull)) throw new RangeError(`createPacer: onFull must be reject, drop-oldest or drop-newest`);
    this.timeoutMs = o.timeoutMs;
    this.retry = { attempts: o.retry?.attempts ?? 0, baseMs: o.retry?.baseMs ?? 250, capMs: o.retry?.capMs ?? 30_000 };
    this.maxKeys = o.maxKeys ?? 10_000;
    this.random = o.random ?? Math.random;
  }

  // ---- typed events ----

  override on<E extends keyof PacerEvents>(event: E, listener: (e: PacerEvents[E]) => void): this {
    return super.on(event, listener);
  }
  override once<E extends keyof PacerEvents>(event: E, listener: (e: PacerEvents[E]) => void): this {
    return super.once(event, listener);
  }
  override off<E extends keyof PacerEvents>(event: E, listener: (e: PacerEvents[E]) => void): this {
    return super.off(event, listener);
  }
  override emit<E extends keyof PacerEvents>(event: E, e: PacerEvents[E]): boolean {
    return this.listenerCount(event) > 0 ? super.emit(event, e) : false;
  }

  // ---- public API ----

  /**
   * Queues `job` on `key`; resolves with what the job returns once it has run (a
   * returned Response resolves even when its status is an error; it is counted as
   * failed and, if retryable and retries are configured, retried first).
   */
  schedule<T>(key: string, job: Job<T>, opts: ScheduleOptions = {}): Promise<T> {
    if (this.stopping) return Promise.reject(new PacerStoppedError(key, job));
    if (typeof job !== 'function') return Promise.reject(new TypeError('pacer.schedule: job must be a function (signal, ctx) => Promise'));
    if (opts.signal?.aborted) return Promise.reject(opts.signal.reason);
    let k: KeyState;
    try {
      k = this.keyState(key);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = {
        key,
        job: job as Job<unknown>,
        priority: opts.priority ?? 0,
        attempt: 0,
        live: true,
        resolve: resolve as (v: unknown) => void,
        reject,
        signal: opts.signal,
      };
      if (k.queue.size >= this.maxQueue) {
        if (this.onFull === 'reject') {
          k.counts.rejected++;
          this.totals.rejected++;
          reject(new QueueFullError(key, this.maxQueue, job));
          return;
        }
        const lowest = k.queue.lowestPriority();
        const dropNew = this.onFull === 'drop-newest' || lowest === undefined || entry.priority < lowest;
        const victim = dropNew ? entry : k.queue.shiftLowest()!;
        if (!dropNew) this.queuedTotal--;
        this.dropped(k, victim, this.onFull);
        if (dropNew) return;
      }
      if (opts.signal) {
        const signal = opts.signal;
        const onAbort = (): void => this.cancel(k, entry, signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        entry.detach = () => signal.removeEventListener('abort', onAbort);
      }
      k.queue.push(entry);
      this.queuedTotal++;
      this.ensurePump(k);
    });
  }

  /** Counters and the current rate, for one key or all of them. */
  stats(key?: string): PacerStats {
    const now = this.clock.now();
    if (key !== undefined) {
      const k = this.keyStates.get(key);
      if (!k) return { queued: 0, running: 0, ...zeroCounts(), ratePerSec: this.peekRate(key), throughputPerSec: 0 };
      return {
        queued: k.queue.size + k.retrying.size,
        running: k.running,
        ...k.counts,
        ratePerSec: this.currentRate(k),
        throughputPerSec: k.meter.perSec(now),
        ...(k.pausedUntil > now ? { pausedUntil: k.pausedUntil } : {}),
      };
    }
    let rate = 0;
    for (const k of this.keyStates.values()) if (k.queue.size + k.running + k.retrying.size > 0) rate += this.currentRate(k);
    return {
      queued: this.queuedTotal,
      running: this.runningTotal,
      ...this.totals,
      ratePerSec: rate,
      throughputPerSec: this.meter.perSec(now),
    };
  }

  /** The rate in force for a key, in jobs per second (the adaptive rate in adaptive mode). */
  rate(key: string): number {
    const k = this.keyStates.get(key);
    return k ? this.currentRate(k) : this.peekRate(key);
  }

  /** Changes a key's rate now (in adaptive mode: moves the current rate, within min..max). */
  setRate(key: string, spec: RateSpec): void {
    const k = this.keyState(key);
    const r = parseRate(spec, k.rate.burst);
    const previous = this.currentRate(k);
    if (k.aimd) {
      k.aimd.rate = Math.min(k.aimd.max, Math.max(k.aimd.min, perSecond(r)));
      k.rate = { limit: k.aimd.rate, windowMs: 1000, burst: k.rate.burst };
    } else k.rate = r;
    k.announced = this.currentRate(k);
    this.emit('rate', { key, ratePerSec: k.announced, previous, reason: 'set' });
    k.wake?.abort(WAKE);
  }

  /** Pauses a key for `ms` (as a Retry-After would). */
  pause(key: string, ms: number): void {
    this.pauseKey(this.keyState(key), ms);
  }

  /** Feeds an outcome observed outside a job (e.g. a late 429 for a webhook) into the key's rate and pause. */
  report(key: string, outcome: Outcome, startedAt = this.clock.now()): void {
    const k = this.keyState(key);
    this.learn(k, judge(outcome, 0, k.aimd?.slowMs, false, false), startedAt);
  }

  /** Keys the pacer holds state for. */
  keys(): string[] {
    return [...this.keyStates.keys()];
  }

  /** Resolves when nothing is queued, waiting to retry, or running. */
  idle(): Promise<void> {
    if (this.queuedTotal === 0 && this.runningTotal === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Back-pressure for producers: resolves once fewer than `below` jobs wait on `key`
   * (or on all keys together when no key is given). Default `below`: maxQueue.
   */
  waitForRoom(key?: string, below = this.maxQueue): Promise<void> {
    if (this.queuedFor(key) < below || this.halted) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push({ key, below, resolve }));
  }

  /**
   * Stops the pacer; schedule() refuses new jobs from now on (PacerStoppedError).
   *  - drain: true (default): runs everything queued, at the rate, then resolves with [].
   *  - drain: false: starts nothing more; every job not yet started is handed back (the
   *    return value) and its promise rejects with PacerStoppedError carrying the job.
   *    Running jobs finish (or are aborted with `abortRunning`) before this resolves.
   */
  async stop(opts: { drain?: boolean; abortRunning?: boolean } = {}): Promise<StoppedJob[]> {
    this.stopping = true;
    if (opts.drain ?? true) {
      await this.idle();
      this.halted = true;
      return [];
    }
    this.halted = true;
    this.halt.abort(new Error('pacer stopped'));
    const handed: { entry: Entry; k: KeyState }[] = [];
    for (const k of this.keyStates.values()) {
      for (const entry of k.queue.drain()) handed.push({ entry, k });
      for (const entry of k.retrying) handed.push({ entry, k });
      k.retrying.clear();
      k.wake?.abort(WAKE);
      k.kick?.();
    }
    const out: StoppedJob[] = [];
    for (const { entry, k } of handed) {
      entry.live = false;
      entry.detach?.();
      k.counts.cancelled++;
      this.totals.cancelled++;
      this.queuedTotal--;
      out.push({ key: entry.key, job: entry.job, priority: entry.priority, attempt: entry.attempt });
      entry.reject(new PacerStoppedError(entry.key, entry.job));
    }
    this.checkRoom();
    this.checkIdle(); // a stop({ drain: true }) in progress is waiting for this
    if (opts.abortRunning) {
      const reason = new PacerStoppedError('*', undefined);
      this.shared.abort(reason);
      for (const c of this.runningJobs) c.abort(reason);
    }
    await this.idle();
    return out;
  }

  // ---- internals ----

  private peekRate(key: string): number {
    const a = this.adaptiveOf?.(key);
    if (a) return new Aimd(a, this.rateOf?.(key)).rate;
    return this.rateOf ? perSecond(parseRate(this.rateOf(key))) : 0;
  }

  private currentRate(k: KeyState): number {
    return k.effectivePerSec ?? perSecond(k.rate);
  }

  private queuedFor(key?: string): number {
    if (key === undefined) return this.queuedTotal;
    const k = this.keyStates.get(key);
    return k ? k.queue.size + k.retrying.size : 0;
  }

  private keyState(key: string): KeyState {
    let k = this.keyStates.get(key);
    if (k) return k;
    if (typeof key !== 'string') throw new TypeError('pacer: key must be a string');
    const adaptive = this.adaptiveOf?.(key);
    const spec = this.rateOf?.(key);
    let rate: Rate;
    let aimd: Aimd | undefined;
    if (adaptive) {
      aimd = new Aimd(adaptive, spec);
      const burst = this.burst ?? (spec !== undefined && typeof spec === 'object' ? spec.burst : undefined) ?? 1;
      rate = { limit: aimd.rate, windowMs: 1000, burst };
    } else {
      if (spec === undefined) throw new RangeError(`pacer: no rate for key "${key}"`);
      rate = parseRate(spec, this.burst ?? 1);
    }
    k = {
      key,
      slot: slotRef(this.name, key),
      rate,
      aimd,
      announced: perSecond(rate),
      queue: new PriorityLanes<Entry>(),
      retrying: new Set(),
      running: 0,
      pausedUntil: -Infinity,
      pumping: false,
      counts: zeroCounts(),
      meter: new Meter(),
    };
    this.keyStates.set(key, k);
    if (this.keyStates.size > this.maxKeys) this.forgetIdleKeys();
    return k;
  }

  /** Drops the least recently created idle keys beyond maxKeys (their totals stay in the global stats). */
  private forgetIdleKeys(): void {
    const now = this.clock.now();
    for (const [key, k] of this.keyStates) {
      if (this.keyStates.size <= this.maxKeys) break;
      if (k.queue.size === 0 && k.running === 0 && k.retrying.size === 0 && !k.pumping && k.pausedUntil <= now) this.keyStates.delete(key);
    }
  }

  private ensurePump(k: KeyState): void {
    if (k.pumping || this.halted) return;
    k.pumping = true;
    // Start on the next microtask, so jobs scheduled together are ordered by priority
    // before the first one leaves, and no job runs inside schedule().
    void Promise.resolve()
      .then(() => this.pump(k))
      .finally(() => {
        k.pumping = false;
        // Work that arrived while the pump was winding down.
        if (k.queue.size > 0 && !this.halted) this.ensurePump(k);
      });
  }

  /**
   * One pump per busy key: waits out pauses and the key's concurrency, reserves the next
   * slot, sleeps until it, takes a global concurrency slot, and starts the next job.
   */
  private async pump(k: KeyState): Promise<void> {
    let holding = false; // a global slot kept across a re-reservation
    try {
      for (;;) {
        if (this.halted || k.queue.size === 0) return;
        const now = this.clock.now();
        if (k.pausedUntil > now) {
          await this.nap(k, k.pausedUntil - now);
          continue;
        }
        if (k.running >= this.keyConcurrency) {
          await new Promise<void>((resolve) => (k.kick = resolve));
          k.kick = undefined;
          continue;
        }
        const reserved = this.reserve(k);
        const wait = typeof reserved === 'object' ? await reserved : reserved;
        if (wait === undefined) continue; // store failed; reserve() already backed off
        if (wait > 0 && !(await this.nap(k, wait))) continue; // woken early: the slot is abandoned
        if (this.halted || k.queue.size === 0 || k.pausedUntil > this.clock.now()) continue;
        if (!holding && !this.slots.tryAcquire()) {
          // Concurrency is the bottleneck. The slot we reserved has gone by while we
          // waited; using it late could bunch jobs up, so reserve afresh, holding the
          // concurrency slot meanwhile.
          await this.slots.acquire();
          holding = true;
          continue;
        }
        holding = false;
        const entry = k.queue.shift()!;
        this.queuedTotal--;
        this.start(k, entry);
        this.checkRoom();
      }
    } finally {
      if (holding) this.slots.release();
    }
  }

  /** Sleeps up to `ms`; false when woken early (pause, stop, rate change). */
  private async nap(k: KeyState, ms: number): Promise<boolean> {
    const wake = new AbortController();
    k.wake = wake;
    try {
      await this.clock.sleep(ms, wake.signal);
      return true;
    } catch {
      return false;
    } finally {
      if (k.wake === wake) k.wake = undefined;
    }
  }

  /**
   * Reserves the key's next slot; gives ms until it, or undefined after a store failure
   * (having waited a backoff). Synchronous with a synchronous store (memory, SQLite), so
   * the pump costs no extra event-loop turns per job there.
   */
  private reserve(k: KeyState): number | undefined | Promise<number | undefined> {
    let r: OpResult | Promise<OpResult>;
    try {
      r = reserveSlot(this.store, k.slot, k.rate, this.clock.now());
    } catch (error) {
      return this.storeFailed(k, error);
    }
    if (!(r instanceof Promise)) return this.reserved(k, r);
    return r.then(
      (res) => this.reserved(k, res),
      (error: unknown) => this.storeFailed(k, error),
    );
  }

  private reserved(k: KeyState, res: OpResult): number {
    k.storeFailures = 0;
    const effective = perSecond(res);
    k.effectivePerSec = Math.abs(effective - perSecond(k.rate)) > 1e-9 ? effective : undefined;
    return res.allowed ? 0 : res.retryAfterMs;
  }

  /**
   * The store is down: hold the key (fail closed, so the rate is never exceeded) and try
   * again after a full-jitter backoff.
   */
  private async storeFailed(k: KeyState, error: unknown): Promise<undefined> {
    const failures = (k.storeFailures = (k.storeFailures ?? 0) + 1);
    const retryInMs = Math.max(1, fullJitter(failures - 1, STORE_RETRY, this.random));
    this.emit('store-error', { key: k.key, error, retryInMs });
    await this.nap(k, retryInMs);
    return undefined;
  }

  private start(k: KeyState, entry: Entry): void {
    entry.detach?.();
    const now = this.clock.now();
    k.running++;
    this.runningTotal++;
    k.meter.add(now);
    this.meter.add(now);
    const own = entry.signal !== undefined || this.timeoutMs !== undefined;
    const ctl = own ? new AbortController() : undefined;
    if (ctl) this.runningJobs.add(ctl);
    const signal = ctl ? ctl.signal : this.shared.signal;
    let onCallerAbort: (() => void) | undefined;
    if (ctl && entry.signal) {
      const s = entry.signal;
      onCallerAbort = () => ctl.abort(s.reason);
      s.addEventListener('abort', onCallerAbort, { once: true });
    }
    let timedOut = false;
    const timer = ctl && this.timeoutMs !== undefined ? new AbortController() : undefined;
    if (ctl && timer && this.timeoutMs !== undefined) {
      const timeoutMs = this.timeoutMs;
      this.clock.sleep(timeoutMs, timer.signal).then(
        () => {
          timedOut = true;
          ctl.abort(new JobTimeoutError(k.key, timeoutMs));
        },
        () => undefined,
      );
    }
    let reported: Outcome | undefined;
    const ctx: JobContext = { key: k.key, attempt: entry.attempt, report: (o) => (reported = o) };
    let p: Promise<unknown>;
    try {
      p = Promise.resolve(entry.job(signal, ctx));
    } catch (e) {
      p = Promise.reject(e);
    }
    const done = (threw: boolean, value: unknown): void => {
      // A ready-made reason: abort() without one builds a DOMException (a stack trace) per job.
      timer?.abort(DONE);
      if (onCallerAbort) entry.signal?.removeEventListener('abort', onCallerAbort);
      if (ctl) this.runningJobs.delete(ctl);
      this.slots.release();
      k.running--;
      this.runningTotal--;
      this.finish(k, entry, threw, value, now, timedOut, reported);
    };
    p.then(
      (v) => done(false, v),
      (e) => done(true, e),
    );
  }

  private finish(k: KeyState, entry: Entry, threw: boolean, value: unknown, startedAt: number, timedOut: boolean, reported?: Outcome): void {
    const now = this.clock.now();
    const latencyMs = now - startedAt;
    const outcome = reported ?? (threw ? outcomeOfError(value, now) : isResponseLike(value) ? outcomeOfResponse(value, now) : { ok: true });
    const verdict = judge(outcome, latencyMs, k.aimd?.slowMs, threw, timedOut);
    this.learn(k, verdict, startedAt);

    const cancelled = entry.signal?.aborted === true && threw;
    if (verdict.failed && verdict.retryable && !cancelled && entry.attempt < this.retry.attempts && !this.halted) {
      this.retryLater(k, entry, verdict.retryAfterMs, threw ? value : undefined, threw ? undefined : value);
    } else if (cancelled) {
      k.counts.cancelled++;
      this.totals.cancelled++;
      entry.reject(value);
    } else if (threw) {
      k.counts.failed++;
      this.totals.failed++;
      this.emit('failed', { key: k.key, error: value, latencyMs, attempt: entry.attempt });
      entry.reject(value);
    } else if (verdict.failed) {
      k.counts.failed++;
      this.totals.failed++;
      this.emit('failed', { key: k.key, result: value, latencyMs, attempt: entry.attempt });
      entry.resolve(value);
    } else {
      k.counts.sent++;
      this.totals.sent++;
      this.emit('sent', { key: k.key, result: value, latencyMs, attempt: entry.attempt });
      entry.resolve(value);
    }
    k.kick?.();
    if (k.queue.size > 0) this.ensurePump(k);
    this.checkIdle();
  }

  /** Applies an outcome to the key: Retry-After pauses it; AIMD moves its rate. */
  private learn(k: KeyState, verdict: ReturnType<typeof judge>, startedAt: number): void {
    if (verdict.retryAfterMs !== undefined && verdict.retryAfterMs > 0) this.pauseKey(k, verdict.retryAfterMs);
    const aimd = k.aimd;
    if (!aimd) return;
    const change = verdict.congestion
      ? aimd.congestion(startedAt, this.clock.now())
      : !verdict.failed
        ? aimd.success(k.queue.size > 0)
        : undefined;
    if (!change) return;
    k.rate = { limit: aimd.rate, windowMs: 1000, burst: k.rate.burst };
    // Announce cuts always, increases in 5% steps (not once per job).
    if (change.reason === 'decrease' || Math.abs(aimd.rate - k.announced) >= 0.05 * k.announced || aimd.rate === aimd.max) {
      if (aimd.rate !== k.announced) {
        this.emit('rate', { key: k.key, ratePerSec: aimd.rate, previous: k.announced, reason: change.reason });
        k.announced = aimd.rate;
      }
    }
  }

  private pauseKey(k: KeyState, ms: number): void {
    const until = this.clock.now() + ms;
    if (until <= k.pausedUntil) return;
    k.pausedUntil = until;
    this.emit('pause', { key: k.key, untilMs: until, retryAfterMs: ms });
    k.wake?.abort(WAKE); // a reserved slot inside the pause is abandoned
  }

  private retryLater(k: KeyState, entry: Entry, retryAfterMs: number | undefined, error: unknown, result: unknown): void {
    entry.attempt++;
    k.counts.retried++;
    this.totals.retried++;
    // A Retry-After already paused the key, so the retry simply queues; otherwise back
    // off with full jitter so a burst of failures does not come back as a burst.
    const delayMs = retryAfterMs !== undefined ? 0 : fullJitter(entry.attempt - 1, this.retry, this.random);
    this.emit('retry', { key: k.key, attempt: entry.attempt, delayMs, error, result });
    entry.retrying = true;
    k.retrying.add(entry);
    this.queuedTotal++;
    const requeue = (): void => {
      if (!k.retrying.delete(entry)) return; // handed back by stop()
      entry.retrying = false;
      if (entry.signal?.aborted) {
        this.queuedTotal--;
        k.counts.cancelled++;
        this.totals.cancelled++;
        entry.reject(entry.signal.reason);
        this.checkIdle();
        return;
      }
      entry.live = true;
      k.queue.unshift(entry);
      if (entry.signal) {
        const signal = entry.signal;
        const onAbort = (): void => this.cancel(k, entry, signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        entry.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.ensurePump(k);
    };
    if (delayMs <= 0) requeue();
    else this.clock.sleep(delayMs, this.halt.signal).then(requeue, () => undefined);
  }

  private cancel(k: KeyState, entry: Entry, reason: unknown): void {
    if (!k.queue.remove(entry)) return;
    this.queuedTotal--;
    k.counts.cancelled++;
    this.totals.cancelled++;
    entry.reject(reason);
    this.checkRoom();
    this.checkIdle();
  }

  private dropped(k: KeyState, entry: Entry, policy: 'drop-oldest' | 'drop-newest'): void {
    entry.detach?.();
    k.counts.dropped++;
    this.totals.dropped++;
    this.emit('drop', { key: k.key, job: entry.job, policy });
    entry.reject(new JobDroppedError(k.key, this.maxQueue, policy, entry.job));
  }

  private checkIdle(): void {
    if (this.queuedTotal !== 0 || this.runningTotal !== 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private checkRoom(): void {
    if (this.roomWaiters.length === 0) return;
    this.roomWaiters = this.roomWaiters.filter((w) => {
      if (this.halted || this.queuedFor(w.key) < w.below) {
        w.resolve();
        return false;
      }
      return true;
    });
  }
}
