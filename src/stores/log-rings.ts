import type { LogEntries } from '../algorithms/in-place.js';

/** Largest time offset (ms from a key's base) and entry cost a ring holds: one Uint32 word each. */
export const RING_MAX = 0xffffffff;

/** Ring capacities, in entries: each 1.5× the last, so a ring wastes at most a third of itself. */
const CAPACITIES: number[] = [1];
while (CAPACITIES[CAPACITIES.length - 1] < 1 << 26) CAPACITIES.push(Math.ceil(CAPACITIES[CAPACITIES.length - 1] * 1.5));

/**
 * The memory store's sliding logs, held in place: per key a ring of entries, oldest
 * first, each two Uint32 words in one shared pool (the entry's time as ms after the
 * key's base time, and its cost), so a held entry costs 8 bytes (≤ 12 with the ring's
 * and the pool's slack) instead of two boxed numbers in an array of its own (~40 B).
 * A key's ring is found by its slot number; regions of the pool are reused through a
 * free list per capacity. Only whole-ms times and whole costs fit: a key whose log
 * has anything else stays an array, on the general path (see MemoryStore.takeLog).
 */
export class LogRings implements LogEntries {
  private pool = new Uint32Array(1 << 12);
  /** Entries of the pool handed out to rings so far (two words each). */
  private top = 0;
  private readonly free: number[][] = CAPACITIES.map(() => []);
  /** Per slot: where its ring starts (in entries), its capacity class, head, length, base time, total cost. */
  private at = new Int32Array(0);
  private cls = new Uint8Array(0);
  private head = new Uint32Array(0);
  private len = new Uint32Array(0);
  private base = new Float64Array(0);
  private sum = new Float64Array(0);

  /** Makes room for slots below `capacity`. */
  ensure(capacity: number): void {
    if (this.at.length >= capacity) return;
    const grow = <T extends Int32Array | Uint32Array | Uint8Array | Float64Array>(a: T, b: T): T => {
      b.set(a);
      return b;
    };
    this.at = grow(this.at, new Int32Array(capacity));
    this.cls = grow(this.cls, new Uint8Array(capacity));
    this.head = grow(this.head, new Uint32Array(capacity));
    this.len = grow(this.len, new Uint32Array(capacity));
    this.base = grow(this.base, new Float64Array(capacity));
    this.sum = grow(this.sum, new Float64Array(capacity));
  }

  /** Gives a slot an empty ring whose offsets count from `base`. */
  create(slot: number, base: number): void {
    this.at[slot] = this.region(0);
    this.cls[slot] = 0;
    this.head[slot] = this.len[slot] = 0;
    this.base[slot] = base;
    this.sum[slot] = 0;
  }

  /** Returns a slot's ring to the pool. */
  release(slot: number): void {
    this.free[this.cls[slot]].push(this.at[slot]);
    this.len[slot] = 0;
  }

  clear(): void {
    this.pool = new Uint32Array(1 << 12);
    this.top = 0;
    for (const f of this.free) f.length = 0;
  }

  // ---- LogEntries: what the in-place take reads ----

  count(slot: number): number {
    return this.len[slot];
  }
  time(slot: number, i: number): number {
    return this.base[slot] + this.pool[2 * this.index(slot, i)];
  }
  cost(slot: number, i: number): number {
    return this.pool[2 * this.index(slot, i) + 1];
  }
  total(slot: number): number {
    return this.sum[slot];
  }

  // ---- what an admitted take writes ----

  /**
   * Drops the `expired` oldest entries and appends (now, cost), merged into the newest
   * entry when it has the same time (as the step function merges); `used` is the total
   * of the entries kept. The caller has checked that the entries are older than now
   * and that a merged cost fits a word (fits()).
   */
  admit(slot: number, expired: number, used: number, now: number, cost: number): void {
    if (expired > 0) {
      const cap = CAPACITIES[this.cls[slot]];
      this.head[slot] = (this.head[slot] + expired) % cap;
      this.len[slot] -= expired;
    }
    this.sum[slot] = used + cost;
    const n = this.len[slot];
    if (n > 0) {
      const last = 2 * this.index(slot, n - 1);
      if (this.base[slot] + this.pool[last] === now) {
        this.pool[last + 1] += cost;
        return;
      }
    } else this.base[slot] = now;
    this.push(slot, now, cost);
  }

  /** Whether admitting (now, cost) keeps every word in range: a merged cost, an offset from the base. */
  fits(slot: number, now: number, cost: number): boolean {
    const n = this.len[slot];
    if (n === 0) return true;
    const last = 2 * this.index(slot, n - 1);
    if (this.base[slot] + this.pool[last] === now) return this.pool[last + 1] + cost <= RING_MAX;
    return true; // push rebases offsets that would not fit (entries kept are within the window)
  }

  /** The log as the step functions see it: [t0, cost0, t1, cost1, …] (for the general path). */
  toArray(slot: number): number[] {
    const n = this.len[slot];
    const out: number[] = new Array(2 * n);
    for (let i = 0; i < n; i++) {
      const w = 2 * this.index(slot, i);
      out[2 * i] = this.base[slot] + this.pool[w];
      out[2 * i + 1] = this.pool[w + 1];
    }
    return out;
  }

  /**
   * Fills a slot's ring from a log state the general path wrote, when every entry fits
   * (whole ms, times in order, whole costs in a word); false, and no ring, otherwise.
   */
  fromArray(slot: number, state: readonly number[]): boolean {
    if (state.length === 0 || state.length % 2 !== 0) return false;
    let sum = 0;
    for (let i = 0; i < state.length; i += 2) {
      const t = state[i];
      const c = state[i + 1];
      if (!Number.isInteger(t) || (i > 0 && t < state[i - 2]) || t - state[0] > RING_MAX) return false;
      if (!Number.isInteger(c) || c < 0 || c > RING_MAX) return false;
      sum += c;
    }
    this.create(slot, state[0]);
    for (let i = 0; i < state.length; i += 2) this.push(slot, state[i], state[i + 1]);
    this.sum[slot] = sum;
    return true;
  }

  // ---- the pool ----

  private index(slot: number, i: number): number {
    const cap = CAPACITIES[this.cls[slot]];
    let j = this.head[slot] + i;
    if (j >= cap) j -= cap;
    return this.at[slot] + j;
  }

  /** Appends an entry at the ring's end, growing the ring or rebasing its offsets when needed. */
  private push(slot: number, t: number, cost: number): void {
    if (t - this.base[slot] > RING_MAX) this.rebase(slot);
    const n = this.len[slot];
    if (n === CAPACITIES[this.cls[slot]]) this.grow(slot);
    this.len[slot] = n + 1;
    const w = 2 * this.index(slot, n);
    this.pool[w] = t - this.base[slot];
    this.pool[w + 1] = cost;
  }

  /** Counts offsets from the oldest entry's time instead (they all stay within one window of now). */
  private rebase(slot: number): void {
    const n = this.len[slot];
    if (n === 0) return;
    const shift = this.pool[2 * this.index(slot, 0)];
    for (let i = 0; i < n; i++) this.pool[2 * this.index(slot, i)] -= shift;
    this.base[slot] += shift;
  }

  /** Moves a full ring to a region of the next capacity, oldest entry first. */
  private grow(slot: number): void {
    const n = this.len[slot];
    const c = this.cls[slot] + 1;
    const to = this.region(c);
    for (let i = 0; i < n; i++) {
      const w = 2 * this.index(slot, i);
      this.pool[2 * (to + i)] = this.pool[w];
      this.pool[2 * (to + i) + 1] = this.pool[w + 1];
    }
    this.free[this.cls[slot]].push(this.at[slot]);
    this.at[slot] = to;
    this.cls[slot] = c;
    this.head[slot] = 0;
  }

  /** A free region of capacity class c: a reused one, or a new one at the pool's end. */
  private region(c: number): number {
    const reused = this.free[c].pop();
    if (reused !== undefined) return reused;
    const at = this.top;
    const need = 2 * (at + CAPACITIES[c]);
    if (need > this.pool.length) {
      // Grow by half (not double): the pool's slack is part of what a held entry costs.
      const next = new Uint32Array(Math.max(need, Math.ceil(this.pool.length * 1.5)));
      next.set(this.pool);
      this.pool = next;
    }
    this.top += CAPACITIES[c];
    return at;
  }
}
