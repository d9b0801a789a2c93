import type { Params } from '../algorithms/index.js';
import { EXPIRES_AT, type InPlaceTake } from '../algorithms/in-place.js';
import { EVICTION_CANDIDATES, EvictionTrace, type NamespaceInfo } from './eviction-trace.js';
import { unescapeValue } from './key-codec.js';
import { runTransaction, type StateAccess } from './transaction.js';
import type { OpResult, StateRef, StateRewrite, Store, StoredOverride, TxOp } from './store.js';

export interface MemoryStoreOptions {
  /**
   * Most keys held at once. Past it, one of the least recently used keys is evicted (an
   * expired one, else the one holding least of its limit) and leaves a conservative trace
   * (./eviction-trace.ts): a returning key is refused earlier, never admitted more. Default 1,000,000.
   */
  maxKeys?: number;
}

/** What takeInPlace says: refused, admitted (and charged), or unable to decide in place. */
export const REFUSED = 0;
export const ADMITTED = 1;
/** The key's state or a run-time override needs the general path (apply). */
export const UNABLE = 2;
export type InPlaceVerdict = typeof REFUSED | typeof ADMITTED | typeof UNABLE;

const NONE = -1;
/** Marks a slot whose state lives in `variable` (sliding log, quotas, leases). */
const VARIABLE = 255;

/**
 * The in-process store: bounded, and compact enough for millions of keys.
 *
 * Keys map to slot numbers (small integers, so the Map holds no boxed values)
 * through a two-level index, rule → key values → slot: looking up the subject's own
 * value string is several times faster than hashing a freshly joined "rule|value";
 * fixed-size states (GCRA, fixed window, sliding window counter: 1–3 numbers) live
 * in Float64Array columns that are allocated only when a state that wide is first
 * stored. Slots form an LRU list through Int32Array links; each write looks at the
 * least recently used slots and drops the ones whose state has expired, so idle
 * keys go away without a timer per key (or any timer at all).
 *
 * A check that matches one plain rule skips the transaction: takeInPlace runs the
 * algorithm's in-place take (../algorithms/in-place.ts) on the key's columns. One
 * value of a key is indexed as it is, unescaped (see localId in ../engine/keys.ts).
 */
export class MemoryStore implements Store, StateAccess {
  readonly name = 'memory';
  private readonly maxKeys: number;
  /** namespace (rule) → id (key values) → slot */
  private readonly index = new Map<string, Map<string, number>>();
  /** Per slot: its id, and the namespace's map it is indexed in (for eviction). */
  private ids: (string | undefined)[] = [];
  private owners: (Map<string, number> | undefined)[] = [];
  private cols: (Float64Array | undefined)[] = [undefined, undefined, undefined];
  private lens = new Uint8Array(0);
  /** Expiry in whole seconds since the epoch (rounded up): enough to evict idle keys. */
  private expires = new Uint32Array(0);
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private readonly variable = new Map<number, number[]>();
  private readonly scratch: number[][] = [[], [0], [0, 0], [0, 0, 0]];
  private readonly evictScratch: number[][] = [[], [0], [0, 0], [0, 0, 0]];
  private head = NONE; // most recently used
  private tail = NONE; // least recently used
  private free: number[] = [];
  private capacity = 0;
  /** Slots ever handed out; below it, reusable slots wait in `free`. */
  private highWater = 0;
  private used = 0;
  /** The instant of the transaction being applied, for expiry. */
  private now = 0;
  /** The last ref looked up and its slot (-1: absent): a transaction reads then writes the same ref. */
  private lastRef?: StateRef;
  private lastSlot = -1;
  /** The namespace takeInPlace looked up last, and its map (namespace maps live until close). */
  private lastNs: string | undefined = undefined;
  private lastKeys: Map<string, number> | undefined = undefined;
  private readonly overrides = new Map<string, StoredOverride>();
  private readonly attributes = new Map<string, Record<string, number>>();
  /** What evicted keys leave behind, and what each namespace is (for choosing whom to evict). */
  private readonly trace: EvictionTrace;
  private readonly nsInfo = new Map<Map<string, number>, NamespaceInfo>();

  /** apply() answers synchronously (a Store capability). */
  readonly synchronous = true;

  constructor(opts: MemoryStoreOptions = {}) {
    this.maxKeys = Math.max(1, opts.maxKeys ?? 1_000_000);
    this.trace = new EvictionTrace(this.maxKeys);
  }

  apply(ops: readonly TxOp[], now: number): OpResult[] {
    this.now = now;
    return runTransaction(ops, now, this);
  }

  /**
   * The hot path of a check that matches one plain rule (a 'take' op without block,
   * scale, override, shadow or charge-on-reject) whose algorithm has an in-place take:
   * decides and charges exactly as apply([op], now) would (test/engine/in-place.test.ts),
   * but looks the key up once and allocates nothing. The figures are left in `io`.
   */
  takeInPlace(ns: string, id: string, alg: InPlaceTake, cost: number, p: Params, now: number, io: Float64Array): InPlaceVerdict {
    if (this.overrides.size !== 0) return UNABLE;
    const width = alg.width;
    let keys = this.lastKeys;
    if (ns !== this.lastNs) {
      keys = this.index.get(ns);
      // Only a namespace that exists is remembered: allocate makes the missing one.
      this.lastNs = keys === undefined ? undefined : ns;
      this.lastKeys = keys;
    }
    let slot = keys?.get(id);
    let fresh = slot === undefined;
    if (slot !== undefined) {
      if (this.lens[slot] !== width) return UNABLE;
      for (let i = 0; i < width; i++) io[i] = this.cols[i]![slot];
      if (alg.ahead(io, now, p)) return UNABLE; // stamped before the clock stepped back: the general path clamps it
    } else if (this.trace.sketches !== 0 && keys !== undefined) {
      // An evicted key comes back: it starts from its trace.
      const start = this.trace.startState(this.nsInfo.get(keys), id, now, undefined, p);
      if (start !== null) {
        if (start.length !== width) return UNABLE;
        for (let i = 0; i < width; i++) io[i] = start[i];
        if (alg.ahead(io, now, p)) return UNABLE; // as a held state would: the general path clamps it
        fresh = false;
      }
    }
    if (!alg.take(io, fresh, now, cost, p)) return REFUSED;
    this.now = now;
    if (slot === undefined) {
      slot = this.allocate(ns, id);
      this.trace.learn(this.nsInfo.get(this.owners[slot]!)!, alg, p);
      this.lastRef = undefined; // it may have cached this key as absent
    } else this.touch(slot);
    // allocate may have grown the columns: read them only now.
    for (let i = 0; i < width; i++) (this.cols[i] ?? this.column(i))[slot] = io[i];
    this.lens[slot] = width;
    this.expires[slot] = expirySeconds(io[EXPIRES_AT]);
    this.sweep();
    return ADMITTED;
  }

  rewriteStates(ns: string, rewrite: StateRewrite): number {
    const ids = [...(this.index.get(ns)?.keys() ?? [])];
    for (const id of ids) {
      const ref = { key: '', ns, id };
      const state = this.read(ref);
      if (state === null) continue;
      const next = rewrite(state);
      this.write(ref, next.state, next.expiresAt);
    }
    return ids.length;
  }

  // ---- StateAccess ----

  /**
   * The state of a ref. Fixed-size states come back in a scratch array that the next
   * read reuses: callers (the transaction) use a state before reading another one.
   */
  read(ref: StateRef): readonly number[] | null {
    const slot = this.find(ref);
    if (slot === undefined) return this.trace.sketches === 0 ? null : this.traced(ref);
    const len = this.lens[slot];
    if (len === VARIABLE) return this.variable.get(slot) ?? null;
    const c = this.cols;
    const out = this.scratch[len];
    for (let i = 0; i < len; i++) out[i] = c[i]![slot];
    return out;
  }

  write(ref: StateRef, state: number[] | null, expiresAt: number): void {
    let slot = this.find(ref);
    if (state === null || state.length === 0) {
      if (slot !== undefined) this.remove(slot);
      return;
    }
    if (slot === undefined) {
      const [ns, id] = ref.ns !== undefined ? [ref.ns, ref.id ?? ''] : split(ref.key);
      slot = this.allocate(ns, id);
      this.lastRef = ref;
      this.lastSlot = slot;
      const op = ref as Partial<TxOp>;
      if (op.algorithm !== undefined) this.trace.learn(this.nsInfo.get(this.owners[slot]!)!, op.algorithm, op.params!);
    } else {
      this.touch(slot);
      if (this.lens[slot] === VARIABLE) this.variable.delete(slot);
    }
    // Short states of any algorithm fit the columns and read back identical.
    if (state.length <= 3) {
      for (let i = 0; i < state.length; i++) (this.cols[i] ?? this.column(i))[slot] = state[i];
      this.lens[slot] = state.length;
    } else {
      this.variable.set(slot, state);
      this.lens[slot] = VARIABLE;
    }
    this.expires[slot] = expirySeconds(expiresAt);
    this.sweep();
  }

  override(ref: StateRef, now: number): { limit: number; windowMs: number } | undefined {
    if (this.overrides.size === 0) return undefined;
    const key = ref.key;
    const o = this.overrides.get(key);
    if (!o) return undefined;
    if (o.expiresAt !== undefined && o.expiresAt <= now) {
      this.overrides.delete(key);
      return undefined;
    }
    return o;
  }

  attribute(entity: string, name: string): number | undefined {
    return this.attributes.get(entity)?.[name];
  }

  // ---- admin ----

  async setOverride(o: StoredOverride): Promise<void> {
    this.overrides.set(o.key, { ...o });
  }
  async deleteOverride(key: string): Promise<boolean> {
    return this.overrides.delete(key);
  }
  async listOverrides(now?: number): Promise<StoredOverride[]> {
    const out: StoredOverride[] = [];
    for (const o of this.overrides.values()) {
      // An expired override no longer applies (override() forgets it at the next decision): not listed.
      if (now !== undefined && o.expiresAt !== undefined && o.expiresAt <= now) this.overrides.delete(o.key);
      else out.push({ ...o });
    }
    return out;
  }
  async setAttributes(entity: string, attrs: Record<string, number | null>): Promise<void> {
    const cur = { ...(this.attributes.get(entity) ?? {}) };
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null) delete cur[k];
      else cur[k] = v;
    }
    if (Object.keys(cur).length) this.attributes.set(entity, cur);
    else this.attributes.delete(entity);
  }
  async getAttributes(entity: string): Promise<Record<string, number>> {
    return { ...(this.attributes.get(entity) ?? {}) };
  }
  async reset(keys: readonly string[]): Promise<number> {
    let n = 0;
    for (const key of keys) {
      if (this.trace.sketches !== 0) this.trace.forgive(...split(key));
      const slot = this.find({ key });
      if (slot !== undefined) {
        this.remove(slot);
        n++;
      }
    }
    return n;
  }
  /** Keys held; with `now`, only those whose state is still live then (expired keys wait for a write to sweep them). */
  async size(now?: number): Promise<number> {
    if (now === undefined) return this.used;
    const nowSec = now / 1000;
    let n = 0;
    for (let slot = 0; slot < this.highWater; slot++) if (this.owners[slot] !== undefined && this.expires[slot] > nowSec) n++;
    return n;
  }
  async ping(): Promise<void> {}
  async close(): Promise<void> {
    this.lastRef = undefined;
    this.lastNs = this.lastKeys = undefined;
    this.index.clear();
    this.nsInfo.clear();
    this.variable.clear();
  }

  /** Synchronous size, for the memory benchmark and metrics. */
  get keyCount(): number {
    return this.used;
  }

  /** Whether the key's state is held itself (not only traced after an eviction). */
  holds(ref: StateRef): boolean {
    return this.find(ref) !== undefined;
  }

  /** Bytes held by the traces of evicted keys (bounded: see ./eviction-trace.ts). */
  get traceBytes(): number {
    return this.trace.bytes;
  }

  // ---- eviction (policy and trace in ./eviction-trace.ts) ----

  /** Evicts one key to make room: the best of the least recently used few, leaving its trace. */
  private evict(): void {
    const now = this.now;
    let best = this.tail;
    let bestRank = Infinity;
    for (let s = this.tail, i = 0; s !== NONE && i < EVICTION_CANDIDATES; s = this.prev[s], i++) {
      const rank = this.trace.rank(this.nsInfo.get(this.owners[s]!)!, this.stateAt(s), this.expires[s] * 1000, now);
      if (rank < bestRank) {
        best = s;
        bestRank = rank;
        if (rank < 0) break; // expired: nothing is lost
      }
    }
    if (bestRank >= 0) this.trace.record(this.nsInfo.get(this.owners[best]!)!, this.ids[best]!, this.stateAt(best), this.expires[best] * 1000, now);
    this.remove(best);
  }

  /** A slot's state, for eviction (fixed-size ones in a scratch array of its own: a transaction may hold the shared one). */
  private stateAt(slot: number): readonly number[] | null {
    const len = this.lens[slot];
    if (len === VARIABLE) return this.variable.get(slot) ?? null;
    const out = this.evictScratch[len];
    for (let i = 0; i < len; i++) out[i] = this.cols[i]![slot];
    return out;
  }

  /** The state an absent key starts from: its trace, if it was evicted (null otherwise). */
  private traced(ref: StateRef): readonly number[] | null {
    const [ns, id] = ref.ns !== undefined ? [ref.ns, ref.id ?? ''] : split(ref.key);
    const keys = this.index.get(ns);
    if (keys === undefined) return null;
    const op = ref as Partial<TxOp>;
    return this.trace.startState(this.nsInfo.get(keys), id, this.now, op.algorithm, op.params);
  }

  // ---- slots and LRU ----

  private find(ref: StateRef): number | undefined {
    if (ref === this.lastRef) return this.lastSlot < 0 ? undefined : this.lastSlot;
    let slot: number | undefined;
    if (ref.ns !== undefined) slot = this.index.get(ref.ns)?.get(ref.id ?? '');
    else {
      const [ns, id] = split(ref.key);
      slot = this.index.get(ns)?.get(id);
    }
    this.lastRef = ref;
    this.lastSlot = slot ?? -1;
    return slot;
  }

  private allocate(ns: string, id: string): number {
    if (this.used >= this.maxKeys) this.evict();
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.highWater >= this.capacity) this.grow();
      slot = this.highWater++;
    }
    let owner = this.index.get(ns);
    if (!owner) {
      this.index.set(ns, (owner = new Map()));
      this.nsInfo.set(owner, this.trace.info(ns));
    }
    owner.set(id, slot);
    this.ids[slot] = id;
    this.owners[slot] = owner;
    this.lens[slot] = 0;
    this.linkHead(slot);
    this.used++;
    return slot;
  }

  private remove(slot: number): void {
    const owner = this.owners[slot];
    if (owner === undefined) return;
    owner.delete(this.ids[slot]!);
    this.ids[slot] = undefined;
    this.owners[slot] = undefined;
    this.lastRef = undefined;
    if (this.lens[slot] === VARIABLE) this.variable.delete(slot);
    this.unlink(slot);
    this.free.push(slot);
    this.used--;
  }

  /** Drops up to two expired least-recently-used keys per write: amortized, timer-free expiry. */
  private sweep(): void {
    const nowSec = this.now / 1000;
    for (let i = 0; i < 2 && this.tail !== NONE; i++) {
      if (this.expires[this.tail] <= nowSec) this.remove(this.tail);
      else break;
    }
  }

  private touch(slot: number): void {
    if (this.head === slot) return;
    this.unlink(slot);
    this.linkHead(slot);
  }

  private linkHead(slot: number): void {
    this.prev[slot] = NONE;
    this.next[slot] = this.head;
    if (this.head !== NONE) this.prev[this.head] = slot;
    this.head = slot;
    if (this.tail === NONE) this.tail = slot;
  }

  private unlink(slot: number): void {
    const p = this.prev[slot];
    const n = this.next[slot];
    if (p !== NONE) this.next[p] = n;
    else if (this.head === slot) this.head = n;
    if (n !== NONE) this.prev[n] = p;
    else if (this.tail === slot) this.tail = p;
    this.prev[slot] = this.next[slot] = NONE;
  }

  private grow(): void {
    const cap = Math.min(this.maxKeys, Math.max(1024, this.capacity * 2));
    const grow = <T extends Float64Array | Int32Array | Uint32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.lens = grow(this.lens, (n) => new Uint8Array(n));
    this.expires = grow(this.expires, (n) => new Uint32Array(n));
    this.prev = grow(this.prev, (n) => new Int32Array(n));
    this.next = grow(this.next, (n) => new Int32Array(n));
    this.cols = this.cols.map((c) => (c ? grow(c, (n) => new Float64Array(n)) : undefined));
    this.capacity = cap;
  }

  private column(i: number): Float64Array {
    const c = new Float64Array(this.capacity);
    this.cols[i] = c;
    return c;
  }
}

function expirySeconds(ms: number): number {
  return Math.min(0xffffffff, Math.max(0, Math.ceil(ms / 1000)));
}

/**
 * A state key as namespace and id, the way the engine names states (localId):
 * "rule|a|b" → ["rule", "a|b"], "rule|a%7Cb" → ["rule", "a|b"] (one value is kept
 * unescaped); a key without "|" is a namespace of its own.
 */
function split(key: string): [string, string] {
  const i = key.indexOf('|');
  return i < 0 ? [key, ''] : [key.slice(0, i), unescapeLone(key.slice(i + 1))];
}

/** A key's single escaped value (no "|" left in it) back to the value (src/engine/keys.ts escapes it). */
function unescapeLone(id: string): string {
  return id.indexOf('|') >= 0 ? id : unescapeValue(id);
}
