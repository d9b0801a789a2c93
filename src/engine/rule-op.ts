import type { StepMode } from '../algorithms/index.js';
import type { CompiledRule } from '../policy/compiled.js';
import type { TxOp } from '../stores/store.js';
import { escapedId } from './keys.js';

/**
 * One rule's part of a transaction, as the engine builds it. The state is named by
 * namespace (rule) and id (key values, see localId); the joined `key` and the hash
 * `tag` are computed only if a store asks (Redis, SQLite), never by the in-memory store.
 * What comes from the rule is read through it, so an op holds only its own figures:
 * one is built per rule per check, and the bytes a check allocates are what the
 * in-memory hot path pays for most.
 */
export class RuleOp implements TxOp {
  override?: { limit: number; windowMs: number } = undefined;
  scale?: { entity: string; attribute: string; fallback: number } = undefined;
  blockKey?: string = undefined;
  blockOnly = false;

  constructor(
    private readonly rule: CompiledRule,
    readonly id: string,
    readonly cost: number,
    readonly mode: StepMode,
  ) {}

  get ns(): string {
    return this.rule.name;
  }
  get algorithm(): CompiledRule['algorithm'] {
    return this.rule.algorithm;
  }
  get params(): CompiledRule['params'] {
    return this.rule.params;
  }
  get shadow(): boolean {
    return this.rule.shadow;
  }
  get chargeRejected(): boolean {
    return this.rule.chargeRejected;
  }
  get blockMs(): number {
    return this.rule.blockMs;
  }

  // A rule without a key is its name alone. Not `id === ''`: a one-value key's value can be ""
  // (a `shared` rule's bucket), and its key is "rule|", as stateKey names it for admin reset and overrides.
  get key(): string {
    return this.rule.keyAttrs.length === 0 ? this.rule.name : `${this.rule.name}|${escapedId(this.rule, this.id)}`;
  }

  get tag(): string {
    return this.rule.keyAttrs.length === 0 ? this.rule.name : escapedId(this.rule, this.id);
  }
}
