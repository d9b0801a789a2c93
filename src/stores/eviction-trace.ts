import { algorithms, type AlgorithmName, type Params } from '../algorithms/index.js';
import { inPlaceTakes, type AnyInPlaceTake } from '../algorithms/in-place.js';

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
 *
 * Figures per kind:
 *  - 'units' (sliding log, sliding window, fixed window, rolling quota, concurrency): the
 *    units in use; a returning key is charged them now ('force'), so they also leave later.
 *  - 'until' (GCRA's theoretical arrival time, a block's end): a timestamp; a returning key
 *    starts with it.
 * Memory: 12 bytes a cell (Float64 figure, Uint32 seconds), D × W cells per namespace that
 * evicts at all, allocated on its first eviction: W = the power of two ≥ maxKeys / 4, between
 * 1,024 and 65,536: at most 4 × 65,536 × 12 B = 3 MiB per namespace (48 KiB for maxKeys ≤ 4,096).
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
}

const ROWS = 4;
/** How many least recently used keys an eviction chooses among. */
export const EVICTION_CANDIDATES = 4;
/** Large enough that peeking under it leaves every used unit visible: used = BIG − remaining. */
const BIG = 1e12;

const takeNames = new Map<AnyInPlaceTake, AlgorithmName>(Object.entries(inPlaceTakes).map(([name, take]) => [take!, name as AlgorithmName]));

export class EvictionTrace {
  private readonly width: number;
  /** Namespaces that have evicted a key (have a sketch): while 0, absent keys skip the lookup. */
  sketches = 0;
  /** Keys reset by the admin API since they were evicted: their next start ignores the trace. */
  private readonly forgiven = new Set<string>();

  constructor(maxKeys: number) {
    let w = 1024;
    while (w < maxKeys / 4 && w < 65_536) w *= 2;
    this.width = w;
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
      this.sketches++;
    }
    info.sketch.add(id, figure, expiresMs, now);
    if (this.forgiven.size) this.forgiven.delete(`${info.name}\u0000${id}`);
  }

  /**
   * The state an absent key starts from: null when nothing of it (or of any key sharing
   * all its cells) is traced. `algorithm`/`params` are the op's, when the caller has them.
   */
  startState(info: NamespaceInfo | undefined, id: string, now: number, algorithm?: AlgorithmName, params?: Params): number[] | null {
    const sketch = info?.sketch;
    if (sketch === undefined) return null;
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
    return this.sketches * ROWS * this.width * 12;
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

/** FNV-1a over UTF-16 code units, with a seed. */
function hash(s: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
