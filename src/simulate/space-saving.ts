/**
 * Space-Saving heavy hitters (Metwally, Agrawal, El Abbadi 2005): the top keys of a
 * stream in a fixed number of counters. A key not held takes the place of the
 * smallest counter and inherits its count as its possible overestimate (`error`), so
 * any key counted more than total/capacity times is always held, and every held
 * count is at most `error` too high. Memory is `capacity` entries whatever the number
 * of distinct keys; counters sit in a min-heap so a replacement is O(log capacity).
 */
export interface HeavyHitter<T> {
  key: string;
  count: number;
  /** How much of count may belong to keys this one replaced. */
  error: number;
  /** Caller's data about the key (its attributes, peak usage…), kept with the counter. */
  data: T;
}

export class SpaceSaving<T> {
  private readonly heap: HeavyHitter<T>[] = [];
  private readonly index = new Map<string, number>();
  total = 0;

  constructor(readonly capacity: number) {}

  /**
   * Counts `by` for key; `make` builds the data of a key seen (or re-admitted) now.
   * Returns the key's counter.
   */
  add(key: string, by: number, make: () => T): HeavyHitter<T> {
    this.total += by;
    const at = this.index.get(key);
    if (at !== undefined) {
      const hit = this.heap[at];
      hit.count += by;
      this.down(at);
      return hit;
    }
    if (this.heap.length < this.capacity) {
      const hit: HeavyHitter<T> = { key, count: by, error: 0, data: make() };
      this.index.set(key, this.heap.length);
      this.heap.push(hit);
      this.up(this.heap.length - 1);
      return hit;
    }
    const min = this.heap[0];
    this.index.delete(min.key);
    const hit: HeavyHitter<T> = { key, count: min.count + by, error: min.count, data: make() };
    this.heap[0] = hit;
    this.index.set(key, 0);
    this.down(0);
    return hit;
  }

  get(key: string): HeavyHitter<T> | undefined {
    const at = this.index.get(key);
    return at === undefined ? undefined : this.heap[at];
  }

  /** The held keys, largest count first. */
  top(n = this.capacity): HeavyHitter<T>[] {
    return [...this.heap].sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1)).slice(0, n);
  }

  get size(): number {
    return this.heap.length;
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].count <= h[i].count) break;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l].count < h[m].count) m = l;
      if (r < h.length && h[r].count < h[m].count) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(a: number, b: number): void {
    const h = this.heap;
    [h[a], h[b]] = [h[b], h[a]];
    this.index.set(h[a].key, a);
    this.index.set(h[b].key, b);
  }
}
