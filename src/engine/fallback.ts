import { MemoryStore } from '../stores/memory.js';
import type { LimitLookup, OpResult, TxOp } from '../stores/store.js';
import { txOp } from '../stores/tx-op.js';

/**
 * The local limiter that decides fail-open rules while the shared store is down.
 *
 * Before: each instance admitted the whole limit on its own (2 instances: 20 of a 10/1m
 * rule), on top of what the store had already counted. Now:
 *  - each instance takes its share, limit ÷ live instances (the store tells how many are
 *    live while it is up: `Store.liveInstances`, Redis heartbeats), rounded down but at
 *    least 1 (so N instances admit at most the limit, plus at most N−1 on tiny limits);
 *  - a key starts from the last count the store reported for it (its share of it, rounded
 *    up), and a key the store reported blocked stays blocked until the block ends. What is
 *    remembered is bounded (`maxSeen` keys, the least recently seen forgotten first once past
 *    half the bound) and older than a window
 *    is not used.
 */
export class Fallback {
  readonly local: MemoryStore;
  private readonly seen = new Map<string, Seen>();
  private readonly maxSeen: number;
  /** From this many keys on, a key noted again moves to the young end (see note). */
  private readonly reorderFrom: number;

  constructor(
    maxKeys: number,
    private readonly instances: () => number,
  ) {
    this.local = new MemoryStore({ maxKeys });
    this.maxSeen = Math.max(1, Math.min(maxKeys, 100_000));
    this.reorderFrom = Math.floor(this.maxSeen / 2);
  }

  /** Notes what the store answered for these ops, to start from it during an outage. */
  remember(ops: readonly TxOp[], results: readonly OpResult[], now: number): void {
    // Stryker disable next-line EqualityOperator: one result per op; at i = ops.length the result is undefined and skipped
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      const r = results[i];
      if (r === undefined || op.mode === 'refund') continue;
      if (r.blocked && op.blockKey !== undefined) this.note(op.blockKey, 0, 0, 0, now + r.retryAfterMs);
      else if (!op.blockOnly || r.remaining < r.limit) this.note(op.key, Math.max(0, r.limit - r.remaining), r.limit, r.windowMs, now + r.windowMs, storeSets(op, r));
    }
  }

  /** Decides the ops locally, with each instance's share of every limit. */
  apply(ops: readonly TxOp[], now: number): OpResult[] {
    const n = Math.max(1, Math.floor(this.instances()) || 1);
    const shared = ops.map((op) => share(op, n, this.seen.get(op.key), now));
    for (const op of shared) this.seed(op, n, now);
    return this.local.apply(shared, now);
  }

  async close(): Promise<void> {
    this.seen.clear();
    await this.local.close();
  }

  /** Counted keys remembered (bounded by maxSeen). */
  get remembered(): number {
    return this.seen.size;
  }

  /** The run-time overrides the store answered with, for a reload's carry-over of the local states (no attribute: a scaled key is carried conservatively). */
  readonly limits: LimitLookup = {
    override: (ref, now) => {
      const s = this.seen.get(ref.key);
      return s?.storeSets === 'override' && s.until > now ? { limit: s.limit, windowMs: s.windowMs } : undefined;
    },
    attribute: () => undefined,
  };

  private note(key: string, used: number, limit: number, windowMs: number, until: number, storeSets?: Seen['storeSets']): void {
    const old = this.seen.get(key);
    if (old !== undefined) {
      // Every decision of a shared store comes here: while the memory is under half its bound
      // (nothing is forgotten yet) the entry is updated in place, without a delete, a re-insert
      // and an object per decision, so it keeps its first place in the Map's order. Past half it
      // is re-inserted: from then on the Map's order is the age of the last sighting.
      if (this.seen.size < this.reorderFrom) {
        old.used = used;
        old.limit = limit;
        old.windowMs = windowMs;
        old.until = until;
        old.seeded = false;
        old.storeSets = storeSets;
        return;
      }
      this.seen.delete(key);
    } else if (this.seen.size >= this.maxSeen) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, { used, limit, windowMs, until, seeded: false, storeSets });
  }

  /** On the first local decision of a key since the store last answered for it, carries over what the store had counted. */
  private seed(op: TxOp, n: number, now: number): void {
    if (op.blockKey !== undefined) {
      const b = this.seen.get(op.blockKey);
      if (b !== undefined && !b.seeded) {
        // Stryker disable next-line BooleanLiteral: seeding the block again writes the same end, which the local limiter only serves until then
        b.seeded = true;
        // Stryker disable next-line ConditionalExpression,EqualityOperator: a block written with an end at or before now refuses nothing, as no write
        if (b.until > now) this.local.write({ key: op.blockKey }, [b.until], b.until);
      }
    }
    const s = this.seen.get(op.key);
    if (s === undefined || s.seeded) return;
    s.seeded = true;
    // What an earlier outage left here was counted before the store's figure: start from the figure.
    this.local.write(op, null, 0);
    if (s.until <= now || s.used <= 0 || op.mode === 'refund') return;
    // This instance's share of what was used, rounded up: refused earlier, never later.
    this.local.apply([{ ...op, cost: Math.ceil(s.used / n), mode: 'force', blockKey: undefined, blockOnly: false, shadow: false, chargeRejected: false }], now);
  }
}

interface Seen {
  used: number;
  /** The effective limit and window the store applied (after run-time overrides and scaling). */
  limit: number;
  windowMs: number;
  /** Until when the figure means anything: a window after it was seen (or the block's end). */
  until: number;
  /** Already carried into the local limiter during this outage. */
  seeded: boolean;
  /** What only the store holds set that limit: a run-time override, or (a number) the factor of a scale attribute; undefined: the policy's own. */
  storeSets?: 'override' | number;
}

/**
 * How the limit the store answered with came about, where the policy alone does not give it:
 * kept apart so that a reload re-derives the key's limit as the store will (an override stays,
 * a factor scales the new limit, a policy limit is the new policy's), instead of keeping the old.
 */
function storeSets(op: TxOp, r: OpResult): Seen['storeSets'] {
  const p = op.params;
  const own = op.override ?? (op.scale ? { limit: p.limit * op.scale.fallback, windowMs: p.windowMs } : p);
  if (r.limit === own.limit && r.windowMs === own.windowMs) return undefined;
  return op.scale && !op.override && r.windowMs === p.windowMs && p.limit > 0 ? r.limit / p.limit : 'override';
}

/**
 * The op with its limit (and burst, and any limit override) divided among n instances. Where
 * the store answered for the key within the last window with a run-time override, that limit is
 * the one shared; with a scale attribute only it holds, that factor scales the rule's limit (the
 * new one after a reload, as the store will).
 */
function share(op: TxOp, n: number, seen: Seen | undefined, now: number): TxOp {
  const p = op.params;
  const fresh = seen !== undefined && seen.windowMs > 0 && seen.until > now ? seen.storeSets : undefined;
  const fromStore = fresh === 'override' ? { limit: part(seen!.limit, n, op.algorithm), windowMs: seen!.windowMs } : undefined;
  // A plain op (the engine's RuleOps compute key and tag in getters), limits divided.
  return txOp({
    key: op.key,
    ns: op.ns,
    id: op.id,
    tag: op.tag,
    algorithm: op.algorithm,
    params: n === 1 ? p : { ...p, limit: part(p.limit, n, op.algorithm), burst: p.burst === undefined ? undefined : part(p.burst, n, op.algorithm) },
    cost: op.cost,
    mode: op.mode,
    shadow: op.shadow,
    chargeRejected: op.chargeRejected,
    blockMs: op.blockMs,
    blockKey: op.blockKey,
    blockOnly: op.blockOnly,
    override: fromStore ?? (op.override && n > 1 ? { ...op.override, limit: part(op.override.limit, n, op.algorithm) } : op.override),
    scale: typeof fresh === 'number' && op.scale ? { ...op.scale, fallback: fresh } : op.scale,
  });
}

/** A request count's share is whole (at least 1, but a limit of 0 stays 0: it admits nothing); a byte quota's is exact. */
function part(limit: number, n: number, algorithm: TxOp['algorithm']): number {
  if (algorithm === 'rolling-quota') return limit / n;
  return Math.max(Math.min(1, limit), Math.floor(limit / n));
}
