import type { AlgorithmName, Params, StepMode } from '../algorithms/index.js';
import type { InPlaceStore } from './in-place-store.js';

/**
 * The store contract. The engine turns one check or record into a transaction of
 * ops (one per matching rule); a store applies the whole transaction atomically at
 * one instant, with the semantics of `runTransaction` (./transaction.ts), which
 * every store shares or mirrors (the Redis store in Lua).
 */

/**
 * Names one piece of state. `key` is the full name ("rule|value|value", values escaped);
 * engine-built refs also carry it split into a namespace (the rule) and an id (the key
 * values; a single value unescaped, see localId in ../engine/keys.ts), and compute `key`
 * only when a store asks, so the in-process store never builds the string.
 */
export interface StateRef {
  readonly key: string;
  readonly ns?: string;
  readonly id?: string;
}

export interface TxOp extends StateRef {
  /** Hash-tag hint: ops with the same tag may share a Redis Cluster slot. */
  readonly tag: string;
  algorithm: Exclude<AlgorithmName, 'block'>;
  /** The rule's own parameters, before overrides and scaling. */
  params: Params;
  cost: number;
  mode: StepMode;
  /** Shadow ops are decided and charged but never deny the transaction. */
  shadow: boolean;
  /** Charge this op even when the transaction is denied. */
  chargeRejected: boolean;
  /** Block penalty in ms once the op trips (0: none). */
  blockMs: number;
  /** Where the block is kept: the op's key, or a coarser one (block the contact, not the question). */
  blockKey?: string;
  /** Consult only the block (outcome rules at check time); the counter is peeked for figures. */
  blockOnly: boolean;
  /** A custom limit for this key from the policy file (a run-time override in the store wins). */
  override?: { limit: number; windowMs: number };
  /**
   * Multiply the limit by an attribute of an entity ("tenant:acme" → licensed_agents).
   * The store's attribute wins; `fallback` is the policy file's value, the subject's, or the default.
   */
  scale?: { entity: string; attribute: string; fallback: number };
}

export interface OpResult {
  allowed: boolean;
  /** Denied because the key is serving a block penalty. */
  blocked: boolean;
  /** The effective limit and window after overrides and scaling. */
  limit: number;
  windowMs: number;
  remaining: number;
  resetMs: number;
  retryAfterMs: number;
}

export interface StoredOverride {
  /** The state key it applies to (rule + key values). */
  key: string;
  rule: string;
  keyValues: Record<string, string>;
  limit: number;
  windowMs: number;
  expiresAt?: number;
  reason?: string;
  /** Who set it (admin token name), for the audit trail. */
  by?: string;
}

/** A state's replacement (null: forget it) and when the replacement may be forgotten. */
export interface RewrittenState {
  state: number[] | null;
  expiresAt: number;
}

/** What a store holds that decides a key's limit, read synchronously (memory, SQLite: as their StateAccess reads it, ./transaction.ts). */
export interface LimitLookup {
  /** A run-time override for this state, if one is in force at `now`. */
  override(ref: StateRef, now: number): { limit: number; windowMs: number } | undefined;
  attribute(entity: string, name: string): number | undefined;
}

/**
 * Rewrites one state, given its state key ("rule|value…") and what the store holds that sets
 * that key's limit (a run-time override, an entity's attribute): a reload carries each key over
 * with its own limit, not the rule's.
 */
export type StateRewrite = (state: readonly number[], key: string, lookup: LimitLookup) => RewrittenState;

/** rewriteStatesAsync's rewrite: given the state key, it may look the key's limit up in the store first. */
export type AsyncStateRewrite = (state: readonly number[], key: string) => RewrittenState | Promise<RewrittenState>;

export interface Store {
  readonly name: string;
  /**
   * Capability: apply() always answers synchronously (never a promise), so a caller may
   * decide without the promise machinery (memory, SQLite). The engine and the service read
   * this instead of recognising a store by its class.
   */
  readonly synchronous?: boolean;
  /**
   * Capability: decides ops on the store's own state without a transaction (./in-place-store.ts),
   * read at each decision (undefined: every decision goes through apply).
   */
  readonly inPlace?: InPlaceStore;
  /** Applies a transaction atomically at `now` (ms since the epoch). Memory and SQLite answer synchronously. */
  apply(ops: readonly TxOp[], now: number): OpResult[] | Promise<OpResult[]>;
  /**
   * Capability of a store that commits decisions in groups (SQLite): makes every decision
   * applied so far durable now. A front door that batches its answers calls it right
   * before writing them; it throws when the commit fails (those decisions are lost).
   */
  flush?(): void;
  /** With flush: resolves once the decisions applied so far are durable; undefined when they already are. */
  whenDurable?(): Promise<void> | undefined;
  /**
   * Capability of a shared store (Redis): tells `listener` of every write outside apply that
   * can change decisions (an override set or deleted, a reset: the state keys; an attribute
   * change: 'all'), made through this instance (at once, before the write resolves) or
   * through any other instance of the store (as soon as the news arrives). Returns the unsubscribe.
   */
  onInvalidate?(listener: (keys: readonly string[] | 'all') => void): () => void;
  setOverride(o: StoredOverride): Promise<void>;
  deleteOverride(key: string): Promise<boolean>;
  /** The run-time overrides; with `now`, only those still in force then (stores may forget the others). */
  listOverrides(now?: number): Promise<StoredOverride[]>;
  /** Sets (number) or clears (null) attributes of an entity such as "tenant:acme". */
  setAttributes(entity: string, attrs: Record<string, number | null>): Promise<void>;
  getAttributes(entity: string): Promise<Record<string, number>>;
  /** Forgets usage and blocks for these state keys; returns how many held state. */
  reset(keys: readonly string[]): Promise<number>;
  /**
   * Rewrites every state of a namespace (a rule's states) at once, for a reload that changes
   * the rule's algorithm or parameters; returns how many states it visited. Stores that cannot
   * list their states cheaply (Redis) leave it out.
   */
  rewriteStates?(ns: string, rewrite: StateRewrite): number;
  /** rewriteStates for a store that lists its states asynchronously (Redis: SCAN, then one compare-and-set per state). */
  rewriteStatesAsync?(ns: string, rewrite: AsyncStateRewrite, now: number): Promise<number>;
  /**
   * Capability for admin reads (inspect's real usage): the states these refs hold, and the
   * instant to read them at on the clock that wrote them (`now`, or the store's own clock:
   * the Redis server's). Stores that can read their states synchronously (memory) may leave it
   * out and expose StateAccess.read; see readStates (./read-states.ts).
   */
  readStates?(refs: readonly StateRef[], now: number): Promise<{ states: (readonly number[] | null)[]; now: number }>;
  /** Number of keys holding live state (at `now`, when given), for metrics. */
  size(now?: number): Promise<number>;
  /** Resolves when the store is reachable. */
  ping(): Promise<void>;
  /**
   * Shared stores: how many instances use this store, as last learnt from it (heartbeats).
   * During an outage each instance's fallback takes limit ÷ this. Absent: 1.
   */
  liveInstances?(): number;
  close(): Promise<void>;
}
