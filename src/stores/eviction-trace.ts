import { algorithms, type AlgorithmName, type Params } from '../algorithms/index.js';
import { inPlaceTakes, type AnyInPlaceTake } from '../algorithms/in-place.js';
import { EvictedKeys, hash } from './evicted-keys.js';

/**
 * Eviction never lowers a count. Past maxKeys the memory store must forget a key, and
 * forgetting used to lift limits: 10^6 distinct keys evicted a victim's state, so a login
 * locked for 15 minutes was unlocked and a full counter started again. Two parts:
 *
 * 1. Whom to evict (evictionRank): among the few least recently used keys, an expired one
 *    first (nothing is lost), else the one holding the least of its limit. Blocked keys,
 *    keys near their limit, and keys of unknown kind go last.
 * 2. What an evicted key leaves (EvictionTrace): per namespace (rule, or a rule's blocks),
 *    a max-sketch: D rows of W cells; each cell holds the largest figure any key evicted
 *    into it still held, with the time it is good until. A key's own D cells each hold at
 *    least its figure, so the minimum over them is an upper bound of what the key had:
 *    a returning key starts from it (charged it at once, see startState) and can only be
 *    refused earlier, never admitted more. A max, not a sum (count-min): a flood of keys
 *    that each used 1 unit leaves cells at 1, not at the flood's size, so keys that were
 *    never near their limit are not refused for the flood (measured in bench/eviction-flood.mjs).
 * 3. Whom the figures apply to (EvictedKeys, ./evicted-keys.ts): a flood sets every cell, so
 *    the cells alone would charge a key never seen, which was then evicted with that charge
 *    plus its own and raised the cells again (they climbed while the flood lasted: new keys
 *    were refused on their first call). Bloom filters of the keys evicted, kept while their
 *    figures last: a key they never saw starts fresh; a key they did (or a false positive,
 *    under 1%) starts from the cells as before.
 *
 * Figures per kind:
 *  - 'units' (sliding log, sliding window, fixed window, rolling quota, concurrency): the
 *    units in use; a returning key is charged them now ('force'), so they also leave later.
 *  - 'until' (GCRA's theoretical arrival time, a block's end): a timestamp; a returning key
 *    starts with it.
 * Memory: 12 bytes a cell (Float64 figure, Uint32 seconds), D × W cells per namespace that
 * evicts at all, allocated on its first eviction: W = the power of two ≥ maxKeys / 4, between
 * 1,024 and 65,536: at most 4 × 65,536 × 12 B = 3 MiB per namespace (48 KiB for maxKeys ≤ 4,096);
 * plus the filters, 2 bytes an evicted key still live, from 4 bits × maxKeys (8…512 KiB) to a
 * cap of 64 bits × maxKeys within 1…8 MiB per namespace (past it they keep taking keys, their false positives growing).
 */

export type TraceKind = 'units' | 'until' | 'unknown';

/** What the store learns about a namespace from the ops it applies. */
export interface NamespaceInfo {
  readonly name: string;
  kind: TraceKind;
  algorithm?: AlgorithmName;
  params?: Params;
  /** params with a limit no state reaches, for reading how many units a state holds. */
  counting?: Params;
  sketch?: MaxSketch;
  /** Which keys were evicted into the sketch: a key it never saw starts fresh (see ./evicted-keys.ts). */
  evicted?: EvictedKeys;
}

const ROWS = 4;
/** How many least recently used keys an eviction chooses among. */
export const EVICTION_CANDIDATES = 4;
/** Large enough that peeking under it leaves every used unit visible: used = BIG − remaining. */
const BIG = 1e12;

const takeNames = new Map<AnyInPlaceTake, AlgorithmName>(Object.entries(inPlaceTakes).map(([name, take]) => [take!, name as AlgorithmName]));

export class EvictionTrace {
  private readonly width: number;
  /** Bits the evicted-key filters of one namespace may take. */
  private readonly filterFirstBits: number;
  private readonly filterCapBits: number;
  private readonly evictedSets: EvictedKeys[] = [];
  /** Namespaces that have evicted a key (have a sketch): while 0, absent keys skip the lookup. */
  sketches = 0;
  /** Keys reset by the admin API since they were evicted: their next start ignores the trace. */
  private readonly forgiven = new Set<string>();

  constructor(maxKeys: number) {
    let w = 1024;
    while (w < maxKeys / 4 && w < 65_536) w *= 2;
    this.width = w;
    // Filters from 4 bits a key the store holds (8 KiB…512 KiB), doubling to 64 bits a key
    // (4 × maxKeys evicted keys live at 16 bits each) within 1…8 MiB.
    let first = 1 << 16;
    while (first < maxKeys * 4 && first < 1 << 22) first *= 2;
    let cap = 1 << 23;
    while (cap < maxKeys * 64 && cap < 1 << 26) cap *= 2;
    this.filterFirstBits = first;
    this.filterCapBits = cap;
  }

  /** A namespace's record, made when its map is. Blocks ("rule!b") hold an end time. */
  info(name: string): NamespaceInfo {
    return { name, kind: name.endsWith('!b') ? 'until' : 'unknown' };
  }

  /** Notes the algorithm of a namespace, from a transaction op (or an in-place take). */
  learn(info: NamespaceInfo, algorithm: AlgorithmName | AnyInPlaceTake, params: Params): void {
    if (info.algorithm !== undefined && info.params === params) return;
    const name = typeof algorithm === 'string' ? algorithm : takeNames.get(algorithm);
    if (name === undefined || name === 'block') return;
    info.algorithm = name;
    info.params = params;
    info.counting = { ...params, limit: BIG };
    info.kind = name === 'gcra' ? 'until' : 'units';
  }

  /**
   * How much would be lost by evicting this state, for choosing among candidates: −1 for
   * an expired state, else the share of its limit in use (1 for a live block), 2 unknown.
   */
  rank(info: NamespaceInfo, state: readonly number[] | null, expiresMs: number, now: number): number {
    if (expiresMs <= now || state === null) return -1;
    if (info.kind === 'unknown') return 2;
    if (info.kind === 'until') {
      if (info.algorithm === undefined) return 1; // a block
      return Math.min(1, Math.max(0, state[0] - now) / info.params!.windowMs);
    }
    return Math.min(1, usedUnits(info, state, now) / info.params!.limit);
  }

  /** Leaves the evicted state's figure in its namespace's sketch. */
  record(info: NamespaceInfo, id: string, state: readonly number[] | null, expiresMs: number, now: number): void {
    if (state === null || expiresMs <= now || info.kind === 'unknown') return;
    let figure: number;
    if (info.kind === 'until') {
      figure = state[0];
      if (!(figure > now)) return;
      expiresMs = Math.max(expiresMs, figure);
    } else {
      figure = usedUnits(info, state, now);
      if (!(figure > 0)) return;
    }
    if (info.sketch === undefined) {
      info.sketch = new MaxSketch(this.width);
      info.evicted = new EvictedKeys(this.filterFirstBits, this.filterCapBits);
      this.evictedSets.push(info.evicted);
      this.sketches++;
    }
    info.sketch.add(id, figure, expiresMs, now);
    info.evicted!.add(id, Math.ceil(expiresMs / 1000) * 1000, now);
    if (this.forgiven.size) this.forgiven.delete(`${info.name}\u0000${id}`);
  }

  /**
   * The state an absent key starts from: null when nothing of it (or of any key sharing
   * all its cells) is traced. `algorithm`/`params` are the op's, when the caller has them.
   */
  startState(info: NamespaceInfo | undefined, id: string, now: number, algorithm?: AlgorithmName, params?: Params): number[] | null {
    const sketch = info?.sketch;
    if (sketch === undefined) return null;
    // A key never evicted (or whose figure lapsed) starts fresh, however many cells a flood has set.
    if (!info!.evicted!.has(id, now)) return null;
    const figure = sketch.query(id, now);
    if (!(figure > 0)) return null;
    // Reading must not use the pardon up (a peek reads too): it ends when the key is evicted again.
    if (this.forgiven.size && this.forgiven.has(`${info!.name}\u0000${id}`)) return null;
    if (info!.kind === 'until') return figure > now ? [figure] : null;
    const alg = algorithm ?? info!.algorithm;
    const p = params ?? info!.params;
    if (alg === undefined || p === undefined || alg === 'block') return null;
    return algorithms[alg].step(null, now, figure, p, 'force').state;
  }

  /** The admin API reset this key: its next start is clean (bounded: forgiving more is a no-op). */
  forgive(ns: string, id: string): void {
    if (this.forgiven.size < 10_000) this.forgiven.add(`${ns}\u0000${id}`);
  }

  /** Bytes the sketches take. */
  get bytes(): number {
    let filters = 0;
    for (const e of this.evictedSets) filters += e.bytes;
    return this.sketches * ROWS * this.width * 12 + filters;
  }
}

function usedUnits(info: NamespaceInfo, state: readonly number[], now: number): number {
  const r = algorithms[info.algorithm!].step(state as number[], now, 1, info.counting!, 'peek');
  return Math.max(0, BIG - r.remaining);
}

/** D rows × W cells of (largest figure, good until in whole seconds, rounded up). */
export class MaxSketch {
  private readonly figures: Float64Array;
  private readonly until: Uint32Array;
  private readonly mask: number;

  constructor(private readonly width: number) {
    this.figures = new Float64Array(ROWS * width);
    this.until = new Uint32Array(ROWS * width);
    this.mask = width - 1;
  }

  /** Raises the key's cells to the figure; a cell past its time is replaced instead (its figures left nothing). */
  add(id: string, figure: number, untilMs: number, now: number): void {
    const untilSec = Math.min(0xffffffff, Math.ceil(untilMs / 1000));
    const nowSec = now / 1000;
    let h1 = hash(id, 0x811c9dc5);
    const h2 = hash(id, 0x9e3779b9) | 1;
    for (let r = 0; r < ROWS; r++, h1 = (h1 + h2) >>> 0) {
      const c = r * this.width + (h1 & this.mask);
      if (this.until[c] <= nowSec) {
        this.figures[c] = figure;
        this.until[c] = untilSec;
      } else {
        if (figure > this.figures[c]) this.figures[c] = figure;
        if (untilSec > this.until[c]) this.until[c] = untilSec;
      }
    }
  }

  /** The smallest figure over the key's cells, counting cells past their time as 0. */
  query(id: string, now: number): number {
    const nowSec = now / 1000;
    let h1 = hash(id, 0x811c9dc5);
    const h2 = hash(id, 0x9e3779b9) | 1;
    let min = Infinity;
    for (let r = 0; r < ROWS; r++, h1 = (h1 + h2) >>> 0) {
      const c = r * this.width + (h1 & this.mask);
      const f = this.until[c] > nowSec ? this.figures[c] : 0;
      if (f < min) min = f;
      if (min === 0) return 0;
    }
    return min;
  }
}
