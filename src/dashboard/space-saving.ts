/**
 * Heavy hitters in bounded memory: the Space-Saving summary (Metwally, Agrawal, El Abbadi,
 * "Efficient computation of frequent and top-k elements in data streams", 2005).
 *
 * It holds at most `capacity` keys. A new key, when full, takes the place of the key with
 * the smallest count and inherits that count as its possible overestimate (`error`); so
 * every key seen more than N/capacity times (N = total weight) is in the summary, and a
 * key's true count lies in [count - error, count]. The smallest count is found through a
 * binary min-heap over the slots, so an offer costs O(log capacity) and allocates nothing
 * for a key already held.
 *
 * Memory: keys are cut to MAX_KEY_CHARS, and each slot's payload is bounded by whoever
 * makes it, so the summary never holds more than `boundBytes(capacity, payloadBytes)`.
 */

/** Keys longer than this are cut (and marked with "…"); distinct keys sharing such a prefix are counted together. */
export const MAX_KEY_CHARS = 256;

/**
 * Bytes one slot costs besides its key's characters and its payload: the Map entry
 * (~80 B with its share of the table), the string header (~24 B), the slot's numbers
 * (count and error as doubles, two int32 heap indexes: 24 B) and the array references (~16 B).
 * Generous on purpose: the stated bound must hold.
 */
export const SLOT_OVERHEAD_BYTES = 160;

/** The most this summary can hold, in bytes, with payloads of at most `payloadBytes` each. */
export function boundBytes(capacity: number, payloadBytes = 0): number {
  return capacity * (SLOT_OVERHEAD_BYTES + 2 * (MAX_KEY_CHARS + 1) + payloadBytes);
}

export interface HeavyHitter<P> {
  key: string;
  /** Upper bound of the key's count. */
  count: number;
  /** How much of `count` may belong to keys this one displaced (true count ≥ count - error). */
  error: number;
  payload: P | undefined;
}

export class SpaceSaving<S = never, P = never> {
  private readonly keys: string[] = [];
  private readonly counts: Float64Array;
  private readonly errors: Float64Array;
  private readonly payloads: (P | undefined)[] = [];
  private readonly index = new Map<string, number>();
  /** heap[h] = slot; pos[slot] = h. The root holds the slot with the smallest count. */
  private readonly heap: Int32Array;
  private readonly pos: Int32Array;
  private n = 0;
  private total = 0;

  /** `toPayload` is called only when a key takes a slot (never for a key already held). */
  constructor(
    readonly capacity: number,
    private readonly toPayload?: (source: S) => P | undefined,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer (got ${capacity})`);
    this.counts = new Float64Array(capacity);
    this.errors = new Float64Array(capacity);
    this.heap = new Int32Array(capacity);
    this.pos = new Int32Array(capacity);
  }

  get size(): number {
    return this.n;
  }

  /** Total weight offered. */
  get weight(): number {
    return this.total;
  }

  /** Counts `weight` for `key`; `source` feeds the payload when the key takes a slot. */
  offer(rawKey: string, weight = 1, source?: S): void {
    this.total += weight;
    const key = rawKey.length > MAX_KEY_CHARS ? `${rawKey.slice(0, MAX_KEY_CHARS - 1)}…` : rawKey;
    const held = this.index.get(key);
    if (held !== undefined) {
      this.counts[held] += weight;
      this.down(this.pos[held]);
      return;
    }
    const payload = this.toPayload && source !== undefined ? this.toPayload(source) : undefined;
    if (this.n < this.capacity) {
      const slot = this.n++;
      this.keys[slot] = key;
      this.counts[slot] = weight;
      this.errors[slot] = 0;
      this.payloads[slot] = payload;
      this.index.set(key, slot);
      this.heap[slot] = slot;
      this.pos[slot] = slot;
      this.up(slot);
      return;
    }
    // Full: the key with the smallest count gives up its slot; its count becomes the newcomer's error.
    const slot = this.heap[0];
    this.index.delete(this.keys[slot]);
    const min = this.counts[slot];
    this.keys[slot] = key;
    this.errors[slot] = min;
    this.counts[slot] = min + weight;
    this.payloads[slot] = payload;
    this.index.set(key, slot);
    this.down(0);
  }

  /** The `k` keys with the highest counts, highest first. */
  top(k: number): HeavyHitter<P>[] {
    const slots = Array.from({ length: this.n }, (_, i) => i);
    slots.sort((a, b) => this.counts[b] - this.counts[a] || (this.keys[a] < this.keys[b] ? -1 : 1));
    return slots.slice(0, k).map((s) => ({ key: this.keys[s], count: this.counts[s], error: this.errors[s], payload: this.payloads[s] }));
  }

  /** Characters of the keys held (for the memory test and the bound). */
  keyChars(): number {
    let c = 0;
    for (let i = 0; i < this.n; i++) c += this.keys[i].length;
    return c;
  }

  clear(): void {
    this.index.clear();
    this.keys.length = 0;
    this.payloads.length = 0;
    this.n = 0;
    this.total = 0;
  }

  private less(h1: number, h2: number): boolean {
    return this.counts[this.heap[h1]] < this.counts[this.heap[h2]];
  }

  private swap(h1: number, h2: number): void {
    const s1 = this.heap[h1];
    const s2 = this.heap[h2];
    this.heap[h1] = s2;
    this.heap[h2] = s1;
    this.pos[s2] = h1;
    this.pos[s1] = h2;
  }

  private up(h: number): void {
    while (h > 0) {
      const parent = (h - 1) >> 1;
      if (!this.less(h, parent)) return;
      this.swap(h, parent);
      h = parent;
    }
  }

  private down(h: number): void {
    for (;;) {
      const l = 2 * h + 1;
      if (l >= this.n) return;
      const r = l + 1;
      const c = r < this.n && this.less(r, l) ? r : l;
      if (!this.less(c, h)) return;
      this.swap(h, c);
      h = c;
    }
  }
}
