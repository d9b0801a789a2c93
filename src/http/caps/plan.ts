import type { CompiledCap } from '../../policy/compiled.js';

/** The shapes a request's caps are checked with: the leaf the meter and its parsers share. */

/** One watched JSON path of a cap. */
export interface ItemWatch {
  cap: CompiledCap;
  path: string;
  /** Path segments: object keys, or '*' for array elements. */
  segments: string[];
  max: number;
}

/** The caps that apply to one request, merged (the strictest of each kind wins). */
export interface CapPlan {
  readonly caps: readonly CompiledCap[];
  readonly body?: { cap: CompiledCap; max: number };
  readonly file?: { cap: CompiledCap; max: number };
  readonly rows?: { cap: CompiledCap; max: number };
  readonly items: readonly ItemWatch[];
}
