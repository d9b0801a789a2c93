import type { LogEntries } from '../algorithms/in-place.js';

/** Largest time offset (ms from a key's base) and entry cost a ring holds: one Uint32 word each. */
export const RING_MAX = 0xffffffff;

/**
 * Ring capacities, in entries: 1, 2, 4, 8, then each an eighth more, so a long log's spare
 * room is at most a ninth of it, and a short one does not move to a new region on every
 * entry it gains.
 */
const CAPACITIES: number[] = [1];
for (let c = 1; c < 1 << 26; ) CAPACITIES.push((c = c < 8 ? 2 * c : Math.ceil(c * 1.125)));

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
  /** Entries of the pool in free regions: when they are half of it, the pool is compacted instead of grown. */
  private wasted = 0;
  /**
   * Per slot, side by side so a check reads one or two cache lines, not six arrays: in
   * `ints` [where its ring starts (in entries), capacity class, head, length], in `nums`
   * [base time, total cost].
   */
  private ints = new Int32Array(0);
  private nums = new Float64Array(0);
  private slots = 0;

  /** Makes room for slots below `capacity`. */
  ensure(capacity: number): void {
    if (this.slots >= capacity) return;
    const ints = new Int32Array(4 * capacity);
    for (let slot = this.slots; slot < capacity; slot++) ints[4 * slot] = -1; // no ring
    ints.set(this.ints);
    const nums = new Float64Array(2 * capacity);
    nums.set(this.nums);
    this.ints = ints;
    this.nums = nums;
    this.slots = capacity;
  }

  /** Gives a slot an empty ring whose offsets count from `base`. */
  create(slot: number, base: number): void {
    this.ints[4 * slot] = this.region(0);
    this.ints[4 * slot + 1] = 0;
    this.ints[4 * slot + 2] = this.ints[4 * slot + 3] = 0;
    this.nums[2 * slot] = base;
    this.nums[2 * slot + 1] = 0;
  }

  /** Returns a slot's ring to the pool. */
  release(slot: number): void {
    this.freeRegion(this.ints[4 * slot + 1], this.ints[4 * slot]);
    this.ints[4 * slot] = -1;
    this.ints[4 * slot + 3] = 0;
  }

  clear(): void {
    this.pool = new Uint32Array(1 << 12);
    this.top = this.wasted = 0;
    for (const f of this.free) f.length = 0;
    for (let slot = 0; slot < this.slots; slot++) this.ints[4 * slot] = -1;
  }

  // ---- LogEntries: what the in-place take reads ----

  count(slot: number): number {
    return this.ints[4 * slot + 3];
  }
  time(slot: number, i: number): number {
    return this.nums[2 * slot] + this.pool[2 * this.index(slot, i)];
  }
  cost(slot: number, i: number): number {
    return this.pool[2 * this.index(slot, i) + 1];
  }
  total(slot: number): number {
    return this.nums[2 * slot + 1];
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
      const cap = CAPACITIES[this.ints[4 * slot + 1]];
      this.ints[4 * slot + 2] = (this.ints[4 * slot + 2] + expired) % cap;
      this.ints[4 * slot + 3] -= expired;
    }
    this.nums[2 * slot + 1] = used + cost;
    const n = this.ints[4 * slot + 3];
    if (n > 0) {
      const last = 2 * this.index(slot, n - 1);
      if (this.nums[2 * slot] + this.pool[last] === now) {
        this.pool[last + 1] += cost;
        return;
      }
    } else this.nums[2 * slot] = now;
    this.push(slot, now, cost);
  }

  /**
   * Whether the in-place take may decide (now, cost) on this ring: no entry is newer than
   * now (else the clock went back, and the step function decides), and admitting it keeps
   * every word in range (a merged cost; offsets are rebased by push when needed).
   */
  fits(slot: number, now: number, cost: number): boolean {
    const n = this.ints[4 * slot + 3];
    if (n === 0) return true;
    const last = 2 * this.index(slot, n - 1);
    const newest = this.nums[2 * slot] + this.pool[last];
    return newest < now || (newest === now && this.pool[last + 1] + cost <= RING_MAX);
  }

  /** The log as the step functions see it: [t0, cost0, t1, cost1, …] (for the general path). */
  toArray(slot: number): number[] {
    const n = this.ints[4 * slot + 3];
    const out: number[] = new Array(2 * n);
    for (let i = 0; i < n; i++) {
      const w = 2 * this.index(slot, i);
      out[2 * i] = this.nums[2 * slot] + this.pool[w];
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
    this.nums[2 * slot + 1] = sum;
    return true;
  }

  // ---- the pool ----

  private index(slot: number, i: number): number {
    const cap = CAPACITIES[this.ints[4 * slot + 1]];
    let j = this.ints[4 * slot + 2] + i;
    if (j >= cap) j -= cap;
    return this.ints[4 * slot] + j;
  }

  /** Appends an entry at the ring's end, growing the ring or rebasing its offsets when needed. */
  private push(slot: number, t: number, cost: number): void {
    if (t - this.nums[2 * slot] > RING_MAX) this.rebase(slot);
    const n = this.ints[4 * slot + 3];
    if (n === CAPACITIES[this.ints[4 * slot + 1]]) this.grow(slot);
    this.ints[4 * slot + 3] = n + 1;
    const w = 2 * this.index(slot, n);
    this.pool[w] = t - this.nums[2 * slot];
    this.pool[w + 1] = cost;
  }

  /** Counts offsets from the oldest entry's time instead (they all stay within one window of now). */
  private rebase(slot: number): void {
    const n = this.ints[4 * slot + 3];
    if (n === 0) return;
    const shift = this.pool[2 * this.index(slot, 0)];
    for (let i = 0; i < n; i++) this.pool[2 * this.index(slot, i)] -= shift;
    this.nums[2 * slot] += shift;
  }

  /** Moves a full ring to a region of the next capacity, oldest entry first. */
  private grow(slot: number): void {
    const n = this.ints[4 * slot + 3];
    const c = this.ints[4 * slot + 1] + 1;
    const to = this.region(c);
    for (let i = 0; i < n; i++) {
      const w = 2 * this.index(slot, i);
      this.pool[2 * (to + i)] = this.pool[w];
      this.pool[2 * (to + i) + 1] = this.pool[w + 1];
    }
    this.freeRegion(this.ints[4 * slot + 1], this.ints[4 * slot]);
    this.ints[4 * slot] = to;
    this.ints[4 * slot + 1] = c;
    this.ints[4 * slot + 2] = 0;
  }

  /** A free region of capacity class c: a reused one, or a new one at the pool's end. */
  private region(c: number): number {
    const reused = this.free[c].pop();
    if (reused !== undefined) {
      this.wasted -= CAPACITIES[c];
      return reused;
    }
    if (2 * (this.top + CAPACITIES[c]) > this.pool.length) {
      // Rings that grew left their smaller regions behind; once those are a quarter of the pool, pack the rings instead of growing.
      if (4 * this.wasted > this.top) this.compact(CAPACITIES[c]);
      else this.resize(Math.ceil(1.125 * (this.top + CAPACITIES[c])));
    }
    const at = this.top;
    this.top += CAPACITIES[c];
    return at;
  }

  private freeRegion(c: number, at: number): void {
    this.free[c].push(at);
    this.wasted += CAPACITIES[c];
  }

  /** A pool of `entries` entries holding what the old one held up to top. Grows by an eighth: its slack is part of what a held entry costs. */
  private resize(entries: number): void {
    const next = new Uint32Array(2 * entries);
    next.set(this.pool.subarray(0, 2 * this.top));
    this.pool = next;
  }

  /** Copies every ring to the start of a new pool, one after another, oldest entry first; frees nothing else. */
  private compact(room: number): void {
    let live = 0;
    for (let slot = 0; slot < this.slots; slot++) if (this.ints[4 * slot] >= 0) live += CAPACITIES[this.ints[4 * slot + 1]];
    const next = new Uint32Array(2 * Math.ceil(1.125 * (live + room)));
    let top = 0;
    for (let slot = 0; slot < this.slots; slot++) {
      if (this.ints[4 * slot] < 0) continue;
      const n = this.ints[4 * slot + 3];
      for (let i = 0; i < n; i++) {
        const w = 2 * this.index(slot, i);
        next[2 * (top + i)] = this.pool[w];
        next[2 * (top + i) + 1] = this.pool[w + 1];
      }
      this.ints[4 * slot] = top;
      this.ints[4 * slot + 2] = 0;
      top += CAPACITIES[this.ints[4 * slot + 1]];
    }
    this.pool = next;
    this.top = top;
    this.wasted = 0;
    for (const f of this.free) f.length = 0;
  }
}
