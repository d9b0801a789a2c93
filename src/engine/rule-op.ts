import type { AlgorithmName, Params, StepMode } from '../algorithms/index.js';
import type { TxOp } from '../stores/store.js';

/**
 * One rule's part of a transaction, as the engine builds it. The state is named by
 * namespace (rule) and id (key values); the joined `key` and the hash `tag` are
 * computed only if a store asks (Redis, SQLite), never on the in-memory hot path.
 */
export class RuleOp implements TxOp {
  override?: { limit: number; windowMs: number };
  scale?: { entity: string; attribute: string; fallback: number };
  blockKey?: string;
  blockOnly = false;

  constructor(
    readonly ns: string,
    readonly id: string,
    readonly algorithm: Exclude<AlgorithmName, 'block'>,
    readonly params: Params,
    readonly cost: number,
    readonly mode: StepMode,
    readonly shadow: boolean,
    readonly chargeRejected: boolean,
    readonly blockMs: number,
  ) {}

  get key(): string {
    return this.id === '' ? this.ns : `${this.ns}|${this.id}`;
  }

  get tag(): string {
    return this.id === '' ? this.ns : this.id;
  }
}
