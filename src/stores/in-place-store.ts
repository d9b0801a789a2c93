import type { Params } from '../algorithms/types.js';
import type { AnyInPlaceTake, InPlaceMode, InPlaceStepTake } from '../algorithms/in-place.js';

/** What an in-place take says: refused, admitted (and charged), or unable to decide in place. */
export const REFUSED = 0;
export const ADMITTED = 1;
/** The key's state (or the store's room) needs the general path (apply). */
export const UNABLE = 2;
export type InPlaceVerdict = typeof REFUSED | typeof ADMITTED | typeof UNABLE;

/** Most ops a transaction decided in place may have (the seeds' checks match 1–4 rules). */
export const IN_PLACE_OPS = 4;

/** Where a rule keeps its block penalties in the store, and for how long one lasts. */
export interface InPlaceBlock {
  /** The namespace of the block keys: "rule!b" (see blockKeyOf in ../engine/keys.ts). */
  readonly ns: string;
  readonly ms: number;
}

/** A rule as a store decides it in place: built by the engine when a policy is loaded. */
export interface InPlaceRule {
  /** The namespace of its states: the rule's name (see localId in ../engine/keys.ts). */
  readonly ns: string;
  readonly take: AnyInPlaceTake;
  /** Its algorithm's step function, for what `take` has no kernel for (a fixed-size take's force or peek). */
  readonly step: InPlaceStepTake;
  /** The rule's own parameters (an op's params): what a store learns eviction ranks and traces from. */
  readonly params: Params;
  readonly block?: InPlaceBlock;
}

/**
 * A store capability (Store.inPlace): deciding an op, or 2–4 ops at once, on the store's
 * own state without building ops or a transaction, exactly as apply() would decide the
 * ops the engine builds (test/engine/in-place.test.ts holds the two paths equal). A store
 * that does not offer it gets every decision through apply(). The memory store offers
 * it while its apply is its own (a subclass or patched instance that watches apply sees
 * every transaction).
 *
 * States are named as the engine's localId names them: namespace (the rule) and id.
 */
export interface InPlaceStore {
  /**
   * One op of `rule` on the key `id`, with parameters `p` (the rule's, a policy file
   * override's, or scaled; a run-time override in the store wins): TAKE (a check), FORCE (a
   * record), PEEK (a check of an outcome rule). With the rule's block, the key's block
   * penalty (kept under block.ns and blockId) is served first (except by FORCE) and tripped
   * by a refusal. The figures are left in `io` (see ../algorithms/in-place.ts), the
   * parameters decided with in inPlaceParams.
   */
  takeInPlace(rule: InPlaceRule, id: string, cost: number, p: Params, now: number, io: Float64Array, mode?: InPlaceMode, blockId?: string): InPlaceVerdict;
  /** Whether a transaction of n ops can be decided in place (none of its writes may evict a key it read). */
  roomInPlace(n: number): boolean;
  /** The first half of op k (< IN_PLACE_OPS) of a transaction: decides it, writes nothing. */
  evaluateInPlace(k: number, rule: InPlaceRule, id: string, cost: number, p: Params, now: number, io: Float64Array, mode: InPlaceMode, blockId: string): InPlaceVerdict;
  /** Whether op k, evaluated and refused, can be charged anyway by settleInPlace (a rule that charges refusals). */
  forcesInPlace(k: number): boolean;
  /** The second half of op k: charges it (`charge`) and trips its block (`trip`). */
  settleInPlace(k: number, charge: boolean, trip: boolean, now: number, io: Float64Array): void;
  /** The parameters the last takeInPlace decided with: the rule's, or a run-time override's. */
  readonly inPlaceParams: Params;
  /** Per op of the transaction being decided in place, the parameters it was decided with. */
  readonly txParams: readonly Params[];
  /** An entity's attribute set at run time (a scaling factor), as StateAccess.attribute. */
  attribute(entity: string, name: string): number | undefined;
}
