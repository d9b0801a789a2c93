/**
 * The contract every rate-limit algorithm implements.
 *
 * An algorithm is a pure step function over a flat array of numbers. Keeping the
 * state numeric and flat lets the memory store pack fixed-size states into typed
 * arrays, lets the Redis Lua twins use the very same layout, and makes test vectors
 * (plain JSON) the shared truth for both.
 */

/** How a step treats the cost. */
export type StepMode =
  /** Charge the cost if, and only if, it fits. */
  | 'take'
  /** Evaluate whether the cost would fit; never charge. */
  | 'peek'
  /** Charge unconditionally (work already done: bytes sent, a failure that happened). */
  | 'force'
  /** Give back a cost charged earlier (refund-on-deny, concurrency release). */
  | 'refund';

export interface Params {
  /** Units admitted per window (or in flight, for concurrency). */
  limit: number;
  /** Window length in milliseconds (lease duration for concurrency). */
  windowMs: number;
  /** GCRA only: how many units may be admitted at once (defaults to limit). */
  burst?: number;
  /** Rolling quota only: how many buckets divide the window (defaults to 60). */
  buckets?: number;
}

export interface StepResult {
  /** Whether the cost fits (for 'force' and 'refund': whether it fitted before the charge). */
  allowed: boolean;
  /** Units still available after this step (never negative). */
  remaining: number;
  /** Milliseconds until the whole limit is available again. */
  resetMs: number;
  /** When not allowed: milliseconds until the same cost would fit. 0 when allowed. */
  retryAfterMs: number;
  /** The state to store; `null` means "nothing to keep" (the key may be deleted). */
  state: number[] | null;
}

export interface Algorithm {
  readonly name: AlgorithmName;
  /** Number of state slots when the state has a fixed size; undefined when it grows. */
  readonly fixedSize?: number;
  step(state: readonly number[] | null, now: number, cost: number, p: Params, mode: StepMode): StepResult;
  /**
   * Whether the state holds a stamp further ahead of `now` than any step at `now` could write
   * (a clock that stepped back wrote it). step() clamps such stamps; a store writes the clamped
   * state back even when nothing is charged, so the clamp holds from then on instead of
   * locking the key out for the size of the step.
   */
  ahead(state: readonly number[], now: number, p: Params): boolean;
  /** Absolute time after which the state carries no information and may be dropped. */
  expiresAt(state: readonly number[], p: Params): number;
  /**
   * The units the state counts against the limit at `now`, read without stepping: what admin
   * inspect reports as `used`. Unlike limit − remaining it goes past the limit when usage did
   * (a byte quota crossed by the download that finished over it, seed 003). Stamps ahead of
   * now are read as step() clamps them.
   */
  usage(state: readonly number[] | null, now: number, p: Params): number;
}

/**
 * The algorithms, in the order that numbers them for the Redis scripts (code = position + 1;
 * codes live only within one script call, never in stored state). Adding an algorithm: its
 * step function in its own file (the registry in ./index.ts must then name it, the compiler
 * says so), its Lua twin in src/stores/redis/lua/ (likewise), its vectors, and its name here.
 */
export const ALGORITHM_NAMES = ['sliding-log', 'sliding-window', 'fixed-window', 'gcra', 'rolling-quota', 'concurrency', 'block'] as const;

export type AlgorithmName = (typeof ALGORITHM_NAMES)[number];
