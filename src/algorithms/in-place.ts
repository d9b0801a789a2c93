import { tatCeiling } from './gcra.js';
import { algorithms } from './index.js';
import type { Algorithm, AlgorithmName, Params, StepMode } from './types.js';

/**
 * The 'take' mode of the fixed-size algorithms, computed in a reused Float64Array
 * instead of allocating a result and a state per call: the memory store's hot path
 * for a check that matches one plain rule. Each kernel is the same arithmetic as its
 * step function (test/algorithms/in-place.test.ts holds them equal on random calls),
 * the way the Redis Lua twins are held to the test vectors.
 *
 * `io` holds the key's state in its first `width` cells on entry (ignored when
 * `fresh`: the key has none). On return the figures are at REMAINING, RESET_MS and
 * RETRY_AFTER_MS and, when the cost fitted, the charged state is in the first cells
 * and the time it may be forgotten at EXPIRES_AT. A refused call leaves the state
 * cells as they were. State stamped ahead of now is clamped as the step functions clamp it.
 * The cost must be positive (a zero cost may delete a state,
 * which only the general path does).
 */
export interface InPlaceTake {
  readonly kind: 'cells';
  /** Cells of state: the algorithm's fixedSize. */
  readonly width: number;
  /** Whether `cost` fits; if it does, it is charged in `io`. */
  take(io: Float64Array, fresh: boolean, now: number, cost: number, p: Params): boolean;
  /**
   * Whether the state in `io` is stamped ahead of now (the step's `ahead`): the store then
   * takes the general path, which writes the clamped state back even when nothing is charged.
   */
  ahead(io: Float64Array, now: number, p: Params): boolean;
}

/**
 * A sliding log as a store holds it in place (../stores/log-rings.ts): per key, entries
 * oldest first, in time order, each a time and a cost; `total` is the sum of the costs.
 */
export interface LogEntries {
  count(key: number): number;
  time(key: number, i: number): number;
  cost(key: number, i: number): number;
  total(key: number): number;
}

/**
 * The sliding log's step (./sliding-log.ts) in 'take', 'force' or 'peek' mode, read from
 * a store's log instead of an array: it looks at the oldest entries only as far as they have left the window, so a
 * check is amortised O(1) (each entry is passed over once when it is dropped); a refusal
 * walks on from there to find when the cost will fit, as the step function does. It
 * never writes: on return io[EXPIRED] holds how many oldest entries left the window and
 * io[USED] the total of those that remain, and the store drops and appends when the
 * cost is charged (a charging step writes exactly the live entries plus this one). A refusal
 * changes nothing, as the general path writes nothing on a refusal: the entries a short
 * window passed over still count if an override lengthens it later.
 *
 * Exact as the step function only for whole costs whose sums stay exact, and entries no
 * newer than `now`; the store sends anything else to the general path (where a clamp of
 * future-stamped state belongs, in the step function itself).
 */
export interface InPlaceLogTake {
  readonly kind: 'log';
  /**
   * Whether `cost` fits. TAKE: the store charges it if it fits; FORCE: the store charges it
   * anyway (an outcome recorded after the work); PEEK: nothing is charged (the figures are
   * the log's as it is). The figures are the step function's in the same mode.
   */
  take(log: LogEntries, key: number, fresh: boolean, now: number, cost: number, p: Params, io: Float64Array, mode: InPlaceMode): boolean;
}

/**
 * Any algorithm's own step function (./types.ts) run on the state a store holds for the key,
 * as the general path reads and writes it: what a store decides in place when no kernel
 * above fits (a rolling quota; an outcome recorded on a fixed-size algorithm). It allocates
 * what the step allocates (a result and a state) but builds no op and no transaction, and
 * it is exact by construction (the same function decides).
 */
export interface InPlaceStepTake {
  readonly kind: 'step';
  readonly algorithm: Algorithm;
}

/** Any in-place take. */
export type AnyInPlaceTake = InPlaceTake | InPlaceLogTake | InPlaceStepTake;

/** The step modes an in-place take can run in (numbers, so the hot path compares integers). */
export const TAKE = 0;
export const FORCE = 1;
export const PEEK = 2;
export type InPlaceMode = typeof TAKE | typeof FORCE | typeof PEEK;
/** The step function's name of each mode. */
export const STEP_MODES: readonly StepMode[] = ['take', 'force', 'peek'];

export const REMAINING = 3;
export const RESET_MS = 4;
export const RETRY_AFTER_MS = 5;
export const EXPIRES_AT = 6;
/** Set by the store (not the takes): 1 when the refusal is a block penalty, served or just tripped. */
export const BLOCKED = 7;
/** Cells an io array needs. */
export const IO_CELLS = 8;
/** The sliding log's take: how many oldest entries left the window, and the total of the rest. */
export const EXPIRED = 0;
export const USED = 1;

/** A refusal for a window, nothing remaining, the state untouched. */
function refuseAll(io: Float64Array, windowMs: number): false {
  io[REMAINING] = 0;
  io[RESET_MS] = 0;
  io[RETRY_AFTER_MS] = windowMs;
  return false;
}

/** GCRA (./gcra.ts): state [tat]. */
const gcra: InPlaceTake = {
  kind: 'cells',
  width: 1,
  take(io, fresh, now, cost, p) {
    if (!(p.limit > 0)) return refuseAll(io, p.windowMs); // see gcra.ts: a limit of 0 admits nothing
    const interval = p.windowMs / p.limit;
    const tolerance = (p.burst ?? p.limit) * interval;
    const tat = fresh ? now : Math.max(Math.min(io[0], now + tatCeiling(p.windowMs, tolerance)), now);
    const newTat = tat + cost * interval;
    const fits = newTat - now <= tolerance + 1e-9;
    const shown = fits ? newTat : tat;
    io[REMAINING] = Math.max(0, Math.floor((tolerance - (shown - now)) / interval + 1e-9));
    io[RESET_MS] = Math.max(0, Math.ceil(shown - now));
    io[RETRY_AFTER_MS] = fits ? 0 : Math.max(0, Math.ceil(newTat - tolerance - now));
    if (fits) io[0] = io[EXPIRES_AT] = newTat;
    return fits;
  },
  ahead(io, now, p) {
    return io[0] > now + tatCeiling(p.windowMs, (p.burst ?? p.limit) * (p.windowMs / p.limit));
  },
};

/** Fixed window (./fixed-window.ts): state [windowStart, count]. */
const fixedWindow: InPlaceTake = {
  kind: 'cells',
  width: 2,
  take(io, fresh, now, cost, p) {
    const start = Math.floor(now / p.windowMs) * p.windowMs;
    const count = !fresh && io[0] >= start ? io[1] : 0;
    const resetMs = start + p.windowMs - now;
    const fits = count + cost <= p.limit;
    io[REMAINING] = Math.max(0, p.limit - (fits ? count + cost : count));
    io[RESET_MS] = resetMs;
    io[RETRY_AFTER_MS] = fits ? 0 : resetMs;
    if (fits) {
      io[0] = start;
      io[1] = count + cost;
      io[EXPIRES_AT] = start + p.windowMs;
    }
    return fits;
  },
  ahead: windowAhead,
};

/** Sliding window counter (./sliding-window.ts): state [windowStart, previousCount, currentCount]. */
const slidingWindow: InPlaceTake = {
  kind: 'cells',
  width: 3,
  take(io, fresh, now, cost, p) {
    const w = p.windowMs;
    const start = Math.floor(now / w) * w;
    let prev = 0;
    let curr = 0;
    if (!fresh) {
      if (io[0] >= start) {
        prev = io[1];
        curr = io[2];
      } else if (io[0] === start - w) {
        prev = io[2];
      }
    }
    const overlap = 1 - (now - start) / w;
    const fits = prev * overlap + curr + cost <= p.limit + 1e-9;
    let retry = 0;
    if (fits) curr += cost;
    else if (
      p.limit - curr - cost >= 0 &&
      // Stryker disable next-line ConditionalExpression,EqualityOperator: unreachable with prev = 0: a refusal then means curr + cost > limit, so the room is < 0 (as in sliding-window.ts)
      prev > 0
    ) {
      // Within this window: the previous window's weight decays linearly.
      retry = Math.max(1, start + (1 - (p.limit - curr - cost) / prev) * w - now);
    } else if (cost > p.limit) {
      retry = start + w - now;
    } else {
      // Otherwise wait for the next window, where this window's count decays instead.
      // Stryker disable next-line ConditionalExpression,EqualityOperator: unreachable with curr = 0: the room is limit − cost ≥ 0 here, so a refusal needed prev > 0 (as in sliding-window.ts)
      const f = curr > 0 ? Math.max(0, 1 - (p.limit - cost) / curr) : 0;
      retry = Math.max(1, start + w + f * w - now);
    }
    io[REMAINING] = Math.max(0, Math.floor(p.limit - (prev * overlap + curr) + 1e-9));
    // All counts have left the rolling window once the next window has fully passed.
    io[RESET_MS] = curr > 0 ? start + 2 * w - now : prev > 0 ? start + w - now : 0;
    io[RETRY_AFTER_MS] = Math.ceil(retry);
    if (fits) {
      io[0] = start;
      io[1] = prev;
      io[2] = curr;
      io[EXPIRES_AT] = start + 2 * w;
    }
    return fits;
  },
  ahead: windowAhead,
};

/** Both window counters keep their window's start first. */
function windowAhead(io: Float64Array, now: number, p: Params): boolean {
  return io[0] > Math.floor(now / p.windowMs) * p.windowMs;
}
/** Sliding log (./sliding-log.ts): the exact rolling window, entries [t, cost] in time order. */
const slidingLog: InPlaceLogTake = {
  kind: 'log',
  take(log, key, fresh, now, cost, p, io, mode) {
    const w = p.windowMs;
    const n = fresh ? 0 : log.count(key);
    // Entries count for [t, t + window): the oldest ones that have left it are passed over.
    let expired = 0;
    let gone = 0;
    while (expired < n && log.time(key, expired) + w <= now) gone += log.cost(key, expired++);
    const used = n === 0 ? 0 : log.total(key) - gone;
    io[EXPIRED] = expired;
    io[USED] = used;
    const fits = used + cost <= p.limit;
    const charged = mode === FORCE || (mode === TAKE && fits);
    if (charged) {
      io[REMAINING] = Math.max(0, p.limit - (used + cost));
      io[RESET_MS] = w; // the newest entry is now's
      io[EXPIRES_AT] = now + w;
    } else {
      io[REMAINING] = Math.max(0, p.limit - used);
      io[RESET_MS] = expired < n ? Math.max(0, log.time(key, n - 1) + w - now) : 0;
    }
    if (fits) {
      io[RETRY_AFTER_MS] = 0;
      return true;
    }
    let retry = w;
    if (cost > p.limit) {
      // Never fits: the honest answer is when the newest entry leaves.
      if (!charged && expired < n) retry = log.time(key, n - 1) + w - now;
    } else {
      // Walk from the oldest live unit until enough have left the window for `cost` to fit.
      let excess = used + cost - p.limit;
      // Stryker disable next-line EqualityOperator: never reaches i = n: the live costs sum to used, so excess falls to cost − limit ≤ 0 by the last entry and the loop breaks
      for (let i = expired; i < n; i++) {
        excess -= log.cost(key, i);
        if (excess <= 0) {
          retry = log.time(key, i) + w - now;
          break;
        }
      }
    }
    io[RETRY_AFTER_MS] = Math.max(0, retry);
    return false;
  },
};

/** The step takes of the algorithms a store may decide in place (concurrency's leases are released on the general path). */
export const stepTakes: Partial<Readonly<Record<AlgorithmName, InPlaceStepTake>>> = Object.fromEntries(
  (['gcra', 'fixed-window', 'sliding-window', 'sliding-log', 'rolling-quota'] as const).map((name) => [name, { kind: 'step', algorithm: algorithms[name] }]),
);

/** The algorithms that have an in-place take. */
export const inPlaceTakes: Partial<Readonly<Record<AlgorithmName, AnyInPlaceTake>>> = {
  gcra,
  'fixed-window': fixedWindow,
  'sliding-window': slidingWindow,
  'sliding-log': slidingLog,
  'rolling-quota': stepTakes['rolling-quota'],
};
