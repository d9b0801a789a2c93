import type { AsyncStateRewrite, OpResult, RewrittenState, Store, StoredOverride, TxOp } from '../stores/store.js';
import { stateReader, type StateReader } from '../stores/read-states.js';

export interface RefusedCacheOptions {
  /** Refused transactions remembered at most (the oldest goes first). Default 10,000. */
  maxEntries?: number;
}

interface Entry {
  /** Until when (the engine's clock, ms) the transaction is certainly refused. */
  until: number;
  /** When it was decided, and the store's answer then. */
  at: number;
  results: OpResult[];
  /** The state keys its ops touch, for invalidation. */
  keys: string[];
}

/**
 * A local cache of refused keys, in front of a remote store (Redis), as envoyproxy/ratelimit's
 * local cache: once a check is refused until a known time, the same check (same rules, keys
 * and cost) is answered in process until then, without a round trip. A key hammering far past
 * its limit then costs the store one call per retry-after instead of one per request.
 *
 * The answer is the store's own, with its reset and retry-after counted down, and it is exact:
 * a check is cached only when it is one op of cost 1 whose refusal writes nothing (a plain
 * 'take', no shadow, no charge of rejected calls, no concurrency lease that a release could
 * free early), and only for as long as it is certain to be refused again: until its
 * retry-after (a block penalty's end included: a block that ends may be tripped again, and
 * that write must not be skipped). The remember/hold logic is written for several ops (the
 * latest retry-after of the refused ops, the earliest when one has a block), should wider
 * transactions ever be cached.
 *
 * What clears entries: a run-time override set or deleted, a reset, any attribute change,
 * made through this instance or, on a store that tells of them (Redis: pub/sub, see
 * onInvalidate), through any instance; a refund or record ('refund'/'force' ops) of the key
 * on this instance; a policy change (Sluice.setPolicy). Not seen: a refund on another
 * instance, and a run-time override's expiry; there a cached refusal can last at most its
 * retry-after longer than the store's.
 */
export class RefusedCache implements Store {
  readonly name: string;
  private readonly entries = new Map<string, Entry>();
  /** State key → the cache keys of the entries whose ops touch it. */
  private readonly byKey = new Map<string, Set<string>>();
  private readonly maxEntries: number;
  /** Checks answered from the cache, and refusals remembered (for metrics). */
  readonly stats = { hits: 0, remembered: 0 };
  private readonly unsubscribe?: () => void;
  /** Admin reads go to the inner store: reading changes nothing remembered here. */
  readonly readStates?: StateReader;

  constructor(
    readonly inner: Store,
    opts: RefusedCacheOptions = {},
  ) {
    this.name = inner.name;
    this.readStates = stateReader(inner);
    this.maxEntries = Math.max(1, opts.maxEntries ?? 10_000);
    // A shared store tells of overrides, resets and attribute changes made by any instance.
    this.unsubscribe = inner.onInvalidate?.((keys) => {
      if (keys === 'all') this.clear();
      else for (const k of keys) this.forget(k);
    });
  }

  /** Refused transactions remembered now. */
  get entryCount(): number {
    return this.entries.size;
  }

  apply(ops: readonly TxOp[], now: number): OpResult[] | Promise<OpResult[]> {
    const key = cacheKey(ops);
    if (key === undefined) {
      if (this.entries.size) for (const op of ops) if (op.mode === 'refund' || op.mode === 'force') this.forget(op.key);
      return this.inner.apply(ops, now);
    }
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      if (now < hit.until && now >= hit.at) {
        this.stats.hits++;
        return counted(hit, now);
      }
      this.drop(key, hit);
    }
    const pending = this.inner.apply(ops, now);
    if (pending instanceof Promise) return pending.then((results) => this.remember(key, ops, results, now));
    return this.remember(key, ops, pending, now);
  }

  /** Forgets every entry (a policy change). */
  clear(): void {
    this.entries.clear();
    this.byKey.clear();
  }

  private remember(key: string, ops: readonly TxOp[], results: OpResult[], now: number): OpResult[] {
    let latest = 0;
    let earliest = Infinity;
    // Stryker disable next-line BooleanLiteral: only one-op transactions are cached (cacheKey): its retry-after is both latest and earliest, blocks or not
    let blocks = false;
    for (let i = 0; i < ops.length; i++) {
      // Stryker disable next-line ConditionalExpression,EqualityOperator,BooleanLiteral: only one-op transactions are cached (cacheKey): its retry-after is both latest and earliest, blocks or not
      if (ops[i].blockKey !== undefined) blocks = true;
      const r = results[i];
      // Stryker disable next-line ConditionalExpression: an admitted op has a retry-after of 0, which sets no hold either way
      if (r.allowed) continue;
      // Stryker disable next-line ConditionalExpression,EqualityOperator: only one-op transactions are cached (cacheKey): its retry-after is both latest and earliest (from 0, or equal)
      if (r.retryAfterMs > latest) latest = r.retryAfterMs;
      // Stryker disable next-line ConditionalExpression,EqualityOperator: only one-op transactions are cached (cacheKey): its retry-after is both latest and earliest (from Infinity, or equal)
      if (r.retryAfterMs < earliest) earliest = r.retryAfterMs;
    }
    const holdMs = blocks ? earliest : latest;
    if (latest === 0 || !(holdMs > 0) || !Number.isFinite(holdMs)) return results;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.drop(oldest, this.entries.get(oldest)!);
    }
    const keys = ops.map((op) => op.key);
    // An op that has just tripped its block answers as a blocked one from now on: nothing remaining.
    const answers = results.map((r) => (r.blocked ? { ...r, remaining: 0 } : { ...r }));
    this.entries.set(key, { until: now + holdMs, at: now, results: answers, keys });
    for (const k of keys) {
      let set = this.byKey.get(k);
      if (set === undefined) this.byKey.set(k, (set = new Set()));
      set.add(key);
    }
    this.stats.remembered++;
    return results;
  }

  private forget(stateKey: string): void {
    const set = this.byKey.get(stateKey);
    if (set === undefined) return;
    for (const key of [...set]) {
      const e = this.entries.get(key);
      if (e) this.drop(key, e);
    }
  }

  private drop(key: string, e: Entry): void {
    this.entries.delete(key);
    for (const k of e.keys) {
      const set = this.byKey.get(k);
      if (set === undefined) continue;
      set.delete(key);
      if (set.size === 0) this.byKey.delete(k);
    }
  }

  // ---- the rest of the store, passed through; writes clear what they touch ----

  async setOverride(o: StoredOverride): Promise<void> {
    await this.inner.setOverride(o);
    this.forget(o.key);
  }
  async deleteOverride(key: string): Promise<boolean> {
    const deleted = await this.inner.deleteOverride(key);
    this.forget(key);
    return deleted;
  }
  listOverrides(now?: number): Promise<StoredOverride[]> {
    return this.inner.listOverrides(now);
  }
  /** A reload's carry-over of a rule's states (see Sluice.setPolicy): whatever was cached predates it. */
  async rewriteStatesAsync(ns: string, rewrite: AsyncStateRewrite, now: number): Promise<number> {
    const n = this.inner.rewriteStates ? this.inner.rewriteStates(ns, (state, key) => settled(rewrite(state, key))) : ((await this.inner.rewriteStatesAsync?.(ns, rewrite, now)) ?? 0);
    this.clear();
    return n;
  }
  async setAttributes(entity: string, attrs: Record<string, number | null>): Promise<void> {
    await this.inner.setAttributes(entity, attrs);
    this.clear(); // scaled limits read attributes inside the store: any entry may depend on it
  }
  getAttributes(entity: string): Promise<Record<string, number>> {
    return this.inner.getAttributes(entity);
  }
  async reset(keys: readonly string[]): Promise<number> {
    const n = await this.inner.reset(keys);
    for (const k of keys) this.forget(k);
    return n;
  }
  size(now?: number): Promise<number> {
    return this.inner.size(now);
  }
  ping(): Promise<void> {
    return this.inner.ping();
  }
  close(): Promise<void> {
    this.unsubscribe?.();
    this.clear();
    return this.inner.close();
  }
}

/** The cache key of a transaction whose refusal writes nothing, or undefined when it may write. */
function cacheKey(ops: readonly TxOp[]): string | undefined {
  // One op of cost 1: while it is refused, its figures hold still (nothing remaining, a reset
  // that counts down). The figures of an op that admitted inside a refused transaction, or of a
  // refused cost > 1 (tokens refilling, a sliding window's weight decaying) move with time, so
  // such an answer cannot be replayed (test/engine/refused-cache.test.ts finds each).
  if (ops.length !== 1 || ops[0].cost !== 1) return undefined;
  // Stryker disable next-line StringLiteral: a prefix common to every key changes no comparison
  let key = '';
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    if (op.mode !== 'take' || op.shadow || op.chargeRejected || op.blockOnly || op.algorithm === 'concurrency') return undefined;
    const p = op.params;
    const o = op.override;
    // Everything the decision depends on besides the store's state: key, cost, algorithm, limits.
    // Stryker disable next-line StringLiteral: each '' marks an absent field, as any other constant would
    key += `${op.key}\u0000${op.cost}\u0000${op.algorithm}\u0000${p.limit}/${p.windowMs}/${p.burst ?? ''}/${p.buckets ?? ''}\u0000${o ? `${o.limit}/${o.windowMs}` : ''}\u0000${op.blockKey ?? ''}/${op.blockMs}\u0000${op.scale ? `${op.scale.entity}/${op.scale.attribute}/${op.scale.fallback}` : ''}\u0001`;
  }
  return key;
}

/** The remembered answer at `now`: resets and retry-afters counted down by the time since. */
function counted(e: Entry, now: number): OpResult[] {
  const dt = now - e.at;
  return e.results.map((r) => ({ ...r, resetMs: Math.max(0, r.resetMs - dt), retryAfterMs: r.allowed ? 0 : Math.max(0, r.retryAfterMs - dt) }));
}

/** A rewrite's answer for a store that rewrites synchronously (the engine carries such a store's states over without the cache, through its own rewriteStates). */
function settled(r: RewrittenState | Promise<RewrittenState>): RewrittenState {
  if (r instanceof Promise) throw new Error('refused cache: a rewrite that looks limits up asynchronously cannot run over a store that rewrites synchronously');
  return r;
}
