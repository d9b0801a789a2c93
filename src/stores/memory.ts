import type { Params } from '../algorithms/index.js';
import { BLOCKED, EXPIRED, EXPIRES_AT, FORCE, PEEK, REMAINING, RESET_MS, RETRY_AFTER_MS, STEP_MODES, TAKE, USED, type InPlaceLogTake, type InPlaceMode } from '../algorithms/in-place.js';
import { EVICTION_CANDIDATES, EvictionTrace, type NamespaceInfo } from './eviction-trace.js';
import { ADMITTED, IN_PLACE_OPS, REFUSED, UNABLE, type InPlaceRule, type InPlaceStore, type InPlaceVerdict } from './in-place-store.js';
import { escapeValue, KEY_EXTRA, unescapeValue } from './key-codec.js';
import { LogRings, RING_MAX } from './log-rings.js';
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

const NONE = -1;
/**
 * Keys the expiry scan looks at per key allocated. An expired key is dropped within two
 * rounds of the scan, and a round takes at most (keys held) / SCAN_STEPS allocations, so
 * keys held follow the live keys (plus those allocated in the last 2 / SCAN_STEPS of a
 * round's worth), not every key ever seen.
 */
const SCAN_STEPS = 8;
/** Marks a slot whose state lives in `variable` (quotas, leases, logs that no ring holds). */
const VARIABLE = 255;
/** Marks a slot whose state is a sliding log held in `rings`. */
const RING = 254;

/**
 * The in-process store: bounded, and compact enough for millions of keys.
 *
 * Keys map to slot numbers (small integers, so the Map holds no boxed values)
 * through a two-level index, rule → key values → slot: looking up the subject's own
 * value string is several times faster than hashing a freshly joined "rule|value";
 * fixed-size states (GCRA, fixed window, sliding window counter: 1–3 numbers) live
 * in Float64Array columns that are allocated only when a state that wide is first
 * stored. Slots form an LRU list through Int32Array links. Expired keys go without a
 * timer per key (or any timer at all): each write drops expired keys at the LRU tail,
 * and each key allocated moves an expiry scan a few keys further along the list (see
 * scan()), so a long-lived key at the tail (an 8-hour signup limit) cannot shield the
 * expired keys behind it: keys held follow the live keys, not the keys seen.
 *
 * A check (or record) the engine can decide in place skips the transaction:
 * takeInPlace, or evaluateInPlace/settleInPlace for 2–4 rules at once, runs the
 * algorithm's in-place take (../algorithms/in-place.ts) on the key's columns, or on its
 * ring for a sliding log (./log-rings.ts). One value of a key is indexed as it is,
 * unescaped (see localId in ../engine/keys.ts).
 */
export class MemoryStore implements Store, StateAccess, InPlaceStore {
  readonly name = 'memory';
  private readonly maxKeys: number;
  /** namespace (rule) → id (key values) → slot */
  private readonly index = new Map<string, Map<string, number>>();
  /** Per slot: its id, and the namespace's map it is indexed in (for eviction). */
  private ids: (string | undefined)[] = [];
  private owners: (Map<string, number> | undefined)[] = [];
  private cols: (Float64Array | undefined)[] = [undefined, undefined, undefined];
  private lens = new Uint8Array(0);
  /**
   * Per slot, 1 when a run-time override may be indexed for its key (0: none is), so a
   * check of a key without one skips the override lookup (with the policy file's, the two
   * Map lookups of the key's id were 15% of seed 001's checks, bench/seeds.mjs). Set by
   * setOverride and allocate (a key that has one when it is stored), cleared by unindex.
   */
  private overridden = new Uint8Array(0);
  /** Expiry in whole seconds since the epoch (rounded up): enough to evict idle keys. */
  private expires = new Uint32Array(0);
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private readonly variable = new Map<number, number[]>();
  /** Sliding logs held in place (see evaluateLog). */
  private readonly rings = new LogRings();
  private readonly scratch: number[][] = [[], [0], [0, 0], [0, 0, 0]];
  private readonly evictScratch: number[][] = [[], [0], [0, 0], [0, 0, 0]];
  private head = NONE; // most recently used
  private tail = NONE; // least recently used
  /** Where the expiry scan goes on: it walks the LRU list from head to tail, then starts at the head again. */
  private cursor = NONE;
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
  /** The same overrides by namespace and id, with the parameters they decide with: what takeInPlace looks up. */
  private readonly overrideIndex = new Map<string, Map<string, IndexedOverride>>();
  /** The namespace takeInPlace looked up last: its overrides (undefined: none). */
  private lastOverrides: Map<string, IndexedOverride> | undefined = undefined;
  /** The parameters the last in-place take decided with: the rule's, or a run-time override's. */
  inPlaceParams: Params = { limit: 0, windowMs: 0 };
  /** Per op of a transaction decided in place (evaluateInPlace → settleInPlace): what settling needs. */
  readonly txParams: Params[] = [];
  private readonly txRule: (InPlaceRule | undefined)[] = [];
  private readonly txId: string[] = [];
  private readonly txCost = new Float64Array(IN_PLACE_OPS);
  private readonly txSlot = new Int32Array(IN_PLACE_OPS);
  private readonly txBlockId: string[] = [];
  /** Per op decided by its algorithm's step function (evaluateStep): 1, and the state it would write. */
  private readonly txStepped = new Uint8Array(IN_PLACE_OPS);
  private readonly txState: (number[] | null)[] = [];
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
   * Decides on the store's own state while its apply is its own (a Store capability, see
   * ./in-place-store.ts): a subclass or a patched instance that replaces apply, to watch
   * or fail every transaction, gets every decision through it.
   */
  get inPlace(): InPlaceStore | undefined {
    return this.apply === ownApply ? this : undefined;
  }

  /**
   * The hot path of a check or record that matches one rule whose algorithm has an
   * in-place take: decides and charges exactly as apply([op], now) would for the op the
   * engine would build (test/engine/in-place.test.ts), but looks the key up once and
   * allocates nothing. `mode` is the op's: TAKE (a check), FORCE (a record), PEEK (a
   * check of an outcome rule); with a rule's block, the key's block penalty (kept under
   * block.ns and blockId) is served first (except by FORCE) and tripped by a refusal.
   * The figures are left in `io`, the parameters decided with in inPlaceParams.
   */
  takeInPlace(rule: InPlaceRule, id: string, cost: number, p: Params, now: number, io: Float64Array, mode: InPlaceMode = TAKE, blockId = ''): InPlaceVerdict {
    const verdict = this.evaluate(0, rule, id, cost, p, now, io, mode, blockId);
    if (verdict === UNABLE) return verdict;
    // A refusal (or an outcome past the limit) trips the block, as the general path does; a block served does not.
    const trips = verdict === REFUSED && rule.block !== undefined && mode !== PEEK && io[BLOCKED] === 0;
    const charge = mode === FORCE || (mode === TAKE && verdict === ADMITTED);
    if (charge || trips) this.settle(0, rule, id, cost, blockId, charge, trips, now, io, false);
    return verdict;
  }

  /** Whether op k, decided in place and refused, can be charged anyway (a rule that charges refusals): a log can, by appending. */
  forcesInPlace(k: number): boolean {
    return this.txRule[k]!.take.kind === 'log' && this.txStepped[k] === 0;
  }

  /** Whether a transaction of n ops can be decided in place: none of its writes may evict a key it read. */
  roomInPlace(n: number): boolean {
    return n <= IN_PLACE_OPS && this.used + 2 * n <= this.maxKeys;
  }

  /**
   * The first half of an op decided in place, op k of a transaction (k < 4): decides it
   * against its key's state and writes nothing, so a transaction can decide all its ops
   * before charging any (runGeneralTransaction's first pass). The op's figures are left in
   * `io`, its parameters in txParams[k]; settleInPlace(k) does its writes.
   */
  evaluateInPlace(k: number, rule: InPlaceRule, id: string, cost: number, p: Params, now: number, io: Float64Array, mode: InPlaceMode, blockId: string): InPlaceVerdict {
    this.txRule[k] = rule;
    this.txId[k] = id;
    this.txCost[k] = cost;
    this.txBlockId[k] = blockId;
    const verdict = this.evaluate(k, rule, id, cost, p, now, io, mode, blockId);
    this.txParams[k] = this.inPlaceParams;
    return verdict;
  }

  /**
   * The second half of op k decided in place: charges it (`charge`: the state evaluate
   * computed, in io) and trips its block (`trip`). A key another op's write has swept
   * meanwhile (its state had expired, so it reads as fresh) is charged as a fresh one.
   */
  settleInPlace(k: number, charge: boolean, trip: boolean, now: number, io: Float64Array): void {
    // A log charged although its take refused (a rule that charges refusals): its newest entry is now's, as after any charge.
    if (charge && this.txRule[k]!.take.kind === 'log') io[EXPIRES_AT] = now + this.txParams[k].windowMs;
    this.settle(k, this.txRule[k]!, this.txId[k], this.txCost[k], this.txBlockId[k], charge, trip, now, io, true);
  }

  /** evaluateInPlace, for op k of a transaction or the lone op (k = 0) of takeInPlace; the parameters go to inPlaceParams. */
  private evaluate(k: number, rule: InPlaceRule, id: string, cost: number, p: Params, now: number, io: Float64Array, mode: InPlaceMode, blockId: string): InPlaceVerdict {
    const ns = rule.ns;
    let keys = this.lastKeys;
    if (ns !== this.lastNs) {
      keys = this.index.get(ns);
      // Only a namespace that exists is remembered: allocate makes the missing one.
      this.lastNs = keys === undefined ? undefined : ns;
      this.lastKeys = keys;
      this.lastOverrides = this.overrideIndex.get(ns);
    }
    const slot = keys?.get(id);
    // A run-time override wins over the rule's limit (and a policy file's override, in p). Only a key not held yet, or flagged, can have one.
    let overridden = false;
    if (this.overrides.size !== 0 && (slot === undefined || this.overridden[slot] === 1)) {
      const custom = this.lastNs === undefined ? this.overrideIndex.get(ns)?.get(id) : this.lastOverrides?.get(id);
      if (custom !== undefined) {
        if (custom.expiresAt !== undefined && custom.expiresAt <= now) this.unindex(this.overrides.get(custom.key)!);
        else {
          p = custom.params;
          overridden = true;
        }
      }
    }
    this.inPlaceParams = p;
    this.now = now; // what sweep() and evict() go by
    this.txStepped[k] = 0;
    io[BLOCKED] = 0;
    const block = rule.block;
    if (block !== undefined && mode !== FORCE) {
      const until = this.blockedUntil(block.ns, block.ms, blockId, now);
      if (until < 0) return UNABLE;
      if (until > 0) {
        io[REMAINING] = 0;
        io[RESET_MS] = io[RETRY_AFTER_MS] = until - now;
        io[BLOCKED] = 1;
        return REFUSED;
      }
    }
    this.txSlot[k] = slot ?? -1;
    const alg = rule.take;
    if (alg.kind === 'log') {
      // An evicted key that comes back starts from its trace: the general path decides that (rare).
      if (slot === undefined && this.trace.sketches !== 0 && keys !== undefined && this.trace.startState(this.nsInfo.get(keys), id, now, 'sliding-log', rule.params) !== null) return UNABLE;
      return this.evaluateLog(slot, alg, cost, p, now, io, mode);
    }
    // The fixed-size kernels take only; a force or a peek (and a rolling quota) is its step function's.
    if (alg.kind === 'step' || mode !== TAKE) return this.evaluateStep(k, slot, keys, rule, id, cost, overridden ? { ...rule.params, ...p, burst: undefined } : p, now, io, mode);
    const width = alg.width;
    let fresh = slot === undefined;
    if (slot !== undefined) {
      if (this.lens[slot] !== width) return UNABLE;
      for (let i = 0; i < width; i++) io[i] = this.cols[i]![slot];
      if (alg.ahead(io, now, p)) return UNABLE; // stamped before the clock stepped back: the general path clamps it
    } else if (this.trace.sketches !== 0 && keys !== undefined) {
      // An evicted key comes back: it starts from its trace (as the general path reads it, with the rule's own parameters).
      const start = this.trace.startState(this.nsInfo.get(keys), id, now, undefined, rule.params);
      if (start !== null) {
        if (start.length !== width) return UNABLE;
        for (let i = 0; i < width; i++) io[i] = start[i];
        if (alg.ahead(io, now, p)) return UNABLE; // as a held state would: the general path clamps it
        fresh = false;
      }
    }
    return alg.take(io, fresh, now, cost, p) ? ADMITTED : REFUSED;
  }

  /** settleInPlace, given what evaluate was; `several`: other ops of the transaction may have written since. */
  private settle(k: number, rule: InPlaceRule, id: string, cost: number, blockId: string, charge: boolean, trip: boolean, now: number, io: Float64Array, several: boolean): void {
    if (charge && this.txStepped[k] === 1 && !this.txState[k]?.length) {
      // A step that leaves nothing to keep: write() drops the key.
      const slot = this.txSlot[k];
      if (slot >= 0 && this.ids[slot] === id && this.owners[slot] === this.index.get(rule.ns)) this.remove(slot);
      charge = false;
    }
    if (charge) {
      const ns = rule.ns;
      const alg = rule.take;
      let slot = this.txSlot[k];
      if (several && slot >= 0 && (this.ids[slot] !== id || this.owners[slot] !== this.index.get(ns))) slot = -1;
      const fresh = slot < 0;
      if (fresh) {
        slot = this.allocate(ns, id);
        // What an op teaches the eviction trace: the rule's algorithm and its own parameters.
        this.trace.learn(this.nsInfo.get(this.owners[slot]!)!, alg, rule.params);
        this.lastRef = undefined; // it may have cached this key as absent
      } else this.touch(slot);
      if (this.txStepped[k] === 1) this.storeState(slot, this.txState[k]!);
      else if (alg.kind === 'log') {
        if (fresh) {
          this.rings.ensure(this.capacity);
          this.rings.create(slot, now);
          this.lens[slot] = RING;
        }
        this.rings.admit(slot, fresh ? 0 : io[EXPIRED], fresh ? 0 : io[USED], now, cost);
      } else if (alg.kind === 'cells') {
        // allocate may have grown the columns: read them only now.
        for (let i = 0; i < alg.width; i++) (this.cols[i] ?? this.column(i))[slot] = io[i];
        this.lens[slot] = alg.width;
      }
      this.expires[slot] = expirySeconds(io[EXPIRES_AT]);
      this.sweep();
    }
    const block = rule.block;
    if (trip && block !== undefined) {
      this.tripBlock(block.ns, blockId, now + block.ms);
      io[RESET_MS] = io[RETRY_AFTER_MS] = block.ms;
      io[BLOCKED] = 1;
    }
  }

  /**
   * An op decided by its algorithm's step function on the key's state as read() reads it
   * (held, or traced after an eviction), in the op's mode; the state it would write is kept
   * for settle (txState). A state stamped ahead of now goes to the general path, which writes
   * the clamp back even when nothing is charged. `p` has the rule's other parameters (a
   * quota's buckets) under a run-time override, as effectiveParams makes them.
   */
  private evaluateStep(k: number, slot: number | undefined, keys: Map<string, number> | undefined, rule: InPlaceRule, id: string, cost: number, p: Params, now: number, io: Float64Array, mode: InPlaceMode): InPlaceVerdict {
    const alg = rule.step.algorithm;
    let state: readonly number[] | null = null;
    if (slot !== undefined) {
      const len = this.lens[slot];
      if (len === RING) return UNABLE;
      state = len === VARIABLE ? this.variable.get(slot) ?? null : this.cells(slot, len);
    } else if (this.trace.sketches !== 0 && keys !== undefined) state = this.trace.startState(this.nsInfo.get(keys), id, now, alg.name, rule.params);
    const own = rule.params;
    this.inPlaceParams = p;
    if (state !== null && alg.ahead(state, now, p)) return UNABLE;
    const r = alg.step(state, now, cost, p, STEP_MODES[mode]);
    io[REMAINING] = r.remaining;
    io[RESET_MS] = r.resetMs;
    io[RETRY_AFTER_MS] = r.retryAfterMs;
    // What the general path's write gives the state: its expiry under the rule's parameters with the limit and window decided with.
    const wp = p.limit === own.limit && p.windowMs === own.windowMs ? own : { ...own, limit: p.limit, windowMs: p.windowMs };
    io[EXPIRES_AT] = r.state ? alg.expiresAt(r.state, wp) : 0;
    this.txStepped[k] = 1;
    this.txState[k] = r.state;
    return r.allowed ? ADMITTED : REFUSED;
  }

  /** A slot's fixed-size state as an array of its own (a step may keep it). */
  private cells(slot: number, len: number): number[] {
    const out: number[] = new Array(len);
    for (let i = 0; i < len; i++) out[i] = this.cols[i]![slot];
    return out;
  }

  /** Puts a state (a step function's) in a slot, in place of what it held: short states of any algorithm in the columns (they read back identical). */
  private storeState(slot: number, state: number[]): void {
    this.dropState(slot);
    if (state.length <= 3) {
      for (let i = 0; i < state.length; i++) (this.cols[i] ?? this.column(i))[slot] = state[i];
      this.lens[slot] = state.length;
    } else {
      this.variable.set(slot, state);
      this.lens[slot] = VARIABLE;
    }
  }

  /**
   * The sliding log's in-place evaluation on the key's ring (./log-rings.ts). What a ring
   * cannot hold exactly goes to the general path: a fractional time or cost, a window
   * longer than a ring's offsets reach, or a log with an entry newer than now (the
   * clock went back; the step function decides, clamps and writes that back). A log the
   * general path wrote as an array moves into a ring here (its content unchanged).
   */
  private evaluateLog(slot: number | undefined, alg: InPlaceLogTake, cost: number, p: Params, now: number, io: Float64Array, mode: InPlaceMode): InPlaceVerdict {
    if (!Number.isInteger(now) || !Number.isInteger(cost) || cost > RING_MAX || !(p.windowMs <= RING_MAX)) return UNABLE;
    const rings = this.rings;
    if (slot !== undefined) {
      if ((this.lens[slot] !== RING && !this.moveToRing(slot)) || !rings.fits(slot, now, cost)) return UNABLE;
    }
    return alg.take(rings, slot ?? -1, slot === undefined, now, cost, p, io, mode) ? ADMITTED : REFUSED;
  }

  /**
   * When a block penalty kept at (ns, id) ends, if it is in force at `now` (read as the
   * general path reads it: held, or traced after an eviction); 0 if not; −1 when it ends
   * further off than a block lasts (stamped before the clock stepped back: the general path
   * clamps it and writes it back). Touches nothing, as a read.
   */
  private blockedUntil(ns: string, ms: number, id: string, now: number): number {
    const keys = this.index.get(ns);
    if (keys === undefined) return 0;
    const slot = keys.get(id);
    let until: number;
    if (slot !== undefined) {
      if (this.lens[slot] !== 1) return -1;
      until = this.cols[0]![slot];
    } else {
      if (this.trace.sketches === 0) return 0;
      const start = this.trace.startState(this.nsInfo.get(keys), id, now);
      if (start === null) return 0;
      until = start[0];
    }
    if (!(until > now)) return 0;
    return until > now + ms ? -1 : until;
  }

  /** Starts a block penalty at (ns, id) until `until`: write({ key }, [until], until), without the key. */
  private tripBlock(ns: string, id: string, until: number): void {
    let slot = this.index.get(ns)?.get(id);
    if (slot === undefined) {
      slot = this.allocate(ns, id);
      this.lastRef = undefined;
    } else {
      this.touch(slot);
      this.dropState(slot);
    }
    (this.cols[0] ?? this.column(0))[slot] = until;
    this.lens[slot] = 1;
    this.expires[slot] = expirySeconds(until);
    this.sweep();
  }

  /** Moves a log the general path stored as an array (or in the columns) into a ring, if it fits one. */
  private moveToRing(slot: number): boolean {
    const len = this.lens[slot];
    const state = len === VARIABLE ? this.variable.get(slot) : len === 2 ? [this.cols[0]![slot], this.cols[1]![slot]] : undefined;
    this.rings.ensure(this.capacity);
    if (state === undefined || !this.rings.fromArray(slot, state)) return false;
    if (len === VARIABLE) this.variable.delete(slot);
    this.lens[slot] = RING;
    return true;
  }

  rewriteStates(ns: string, rewrite: StateRewrite): number {
    const ids = [...(this.index.get(ns)?.keys() ?? [])];
    for (const id of ids) {
      const ref = { key: '', ns, id };
      const state = this.read(ref);
      if (state === null) continue;
      const next = rewrite(state, joinKey(ns, id), this);
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
    if (len === RING) return this.rings.count(slot) === 0 ? null : this.rings.toArray(slot);
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
    } else this.touch(slot);
    this.storeState(slot, state);
    this.expires[slot] = expirySeconds(expiresAt);
    this.sweep();
  }

  override(ref: StateRef, now: number): { limit: number; windowMs: number } | undefined {
    if (this.overrides.size === 0) return undefined;
    const key = ref.key;
    const o = this.overrides.get(key);
    if (!o) return undefined;
    if (o.expiresAt !== undefined && o.expiresAt <= now) {
      this.unindex(o);
      return undefined;
    }
    return o;
  }

  attribute(entity: string, name: string): number | undefined {
    return this.attributes.get(entity)?.[name];
  }

  // ---- admin ----

  async setOverride(o: StoredOverride): Promise<void> {
    const old = this.overrides.get(o.key);
    if (old) this.unindex(old);
    const copy = { ...o };
    this.overrides.set(o.key, copy);
    const [ns, id] = split(o.key);
    let byId = this.overrideIndex.get(ns);
    if (!byId) this.overrideIndex.set(ns, (byId = new Map()));
    byId.set(id, { key: o.key, expiresAt: o.expiresAt, params: { limit: o.limit, windowMs: o.windowMs } });
    const slot = this.index.get(ns)?.get(id);
    if (slot !== undefined) this.overridden[slot] = 1;
    this.lastNs = undefined; // its cached override map may have just been made
  }
  async deleteOverride(key: string): Promise<boolean> {
    const o = this.overrides.get(key);
    if (o) this.unindex(o);
    return o !== undefined;
  }
  async listOverrides(now?: number): Promise<StoredOverride[]> {
    const out: StoredOverride[] = [];
    for (const o of this.overrides.values()) {
      // An expired override no longer applies (override() forgets it at the next decision): not listed.
      if (now !== undefined && o.expiresAt !== undefined && o.expiresAt <= now) this.unindex(o);
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
    this.rings.clear();
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
    if (len === RING) return this.rings.count(slot) === 0 ? null : this.rings.toArray(slot);
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

  /** Forgets an override, in the map and in the index takeInPlace reads. */
  private unindex(o: StoredOverride): void {
    this.overrides.delete(o.key);
    const [ns, id] = split(o.key);
    const byId = this.overrideIndex.get(ns);
    if (byId?.get(id)?.key !== o.key) return;
    byId.delete(id);
    const slot = this.index.get(ns)?.get(id);
    if (slot !== undefined) this.overridden[slot] = 0;
    if (byId.size === 0) {
      this.overrideIndex.delete(ns);
      this.lastNs = undefined;
    }
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
    this.scan();
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
    id = ownCopy(id);
    owner.set(id, slot);
    this.overridden[slot] = this.overrides.size !== 0 && this.overrideIndex.get(ns)?.has(id) === true ? 1 : 0;
    this.ids[slot] = id;
    this.owners[slot] = owner;
    this.lens[slot] = 0;
    this.linkHead(slot);
    this.used++;
    return slot;
  }

  /** Frees what a slot's state holds outside its columns: a variable-size array or a log ring. */
  private dropState(slot: number): void {
    if (this.lens[slot] === VARIABLE) this.variable.delete(slot);
    else if (this.lens[slot] === RING) this.rings.release(slot);
  }

  private remove(slot: number): void {
    const owner = this.owners[slot];
    if (owner === undefined) return;
    owner.delete(this.ids[slot]!);
    this.ids[slot] = undefined;
    this.owners[slot] = undefined;
    this.lastRef = undefined;
    this.dropState(slot);
    this.lens[slot] = 0;
    this.unlink(slot);
    this.free.push(slot);
    this.used--;
  }

  /**
   * Looks at the next SCAN_STEPS keys of the LRU list from the cursor (most recently used
   * first, wrapping at the tail), dropping those whose state has expired: amortised O(1) per
   * key allocated. Walking toward the tail, the scan never meets again in a round the keys
   * touched meanwhile (they move to the head, behind it), so a round ends after at most the
   * keys held when it began.
   */
  private scan(): void {
    const nowSec = this.now / 1000;
    let s = this.cursor;
    for (let i = 0; i < SCAN_STEPS; i++) {
      if (s === NONE) {
        s = this.head;
        if (s === NONE) break;
      }
      const n = this.next[s];
      if (this.expires[s] <= nowSec) this.remove(s);
      s = n;
    }
    this.cursor = s;
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
    if (slot === this.cursor) this.cursor = n;
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
    this.overridden = grow(this.overridden, (n) => new Uint8Array(n));
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

/** A run-time override as takeInPlace finds it: by namespace and id, with the parameters it decides with. */
interface IndexedOverride {
  readonly key: string;
  readonly expiresAt?: number;
  readonly params: Params;
}

const ownApply = MemoryStore.prototype.apply;

/**
 * A key's text as a string of its own. A value sliced out of a larger string (a log chunk
 * the simulator reads, a request's text) is, in V8, a view that keeps the whole of it alive
 * as long as the key lives: picky-assist's replay held 1.5 GiB of log chunks through 13k keys.
 * Paid once per key stored; V8 copies strings shorter than 13 characters when slicing anyway.
 */
function ownCopy(id: string): string {
  return id.length < 13 ? id : (' ' + id).slice(1);
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

/** split's inverse: the state key of a namespace and id (an id with "|" in it is taken as several escaped values). */
function joinKey(ns: string, id: string): string {
  return id === '' ? ns : `${ns}|${id.indexOf('|') >= 0 ? id : escapeValue(id, KEY_EXTRA)}`;
}

/** A key's single escaped value (no "|" left in it) back to the value (src/engine/keys.ts escapes it). */
function unescapeLone(id: string): string {
  return id.indexOf('|') >= 0 ? id : unescapeValue(id);
}
