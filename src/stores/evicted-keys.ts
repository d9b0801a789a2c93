/**
 * Which keys of a namespace were evicted while they still held something: a chain of Bloom
 * filters, so the eviction trace (./eviction-trace.ts) charges its figures only to keys that
 * may have been evicted, not to every key whose cells a flood filled.
 *
 * Why: the trace's max-sketch has a few thousand cells; a flood of 200,000 one-call keys sets
 * every cell, so a brand-new key started from a traced count, and was evicted with that count
 * plus its own, raising the cells again: the counts climbed while the flood lasted, and new
 * keys were refused on their first call. A key the filters never saw was never evicted (no
 * false negatives while its figure lasts), so it starts fresh; only the rare false positive
 * (about 0.1% a full filter, under 1% over a chain of full ones) reads the sketch.
 *
 * Bounded: filters of 16 bits a key, 8 probes in one 512-bit block; the first one `firstBits`,
 * each next one twice the last (or the largest that fits), while all of them stay within `capBits`; past it the newest keeps taking keys
 * (its false positives grow: new keys read the sketch again, as before the filters, never fewer
 * refusals for an evicted key). A filter is dropped once every key in it has lapsed (the
 * latest good-until it holds), which frees room for new ones.
 */

const PROBES = 8;
const BITS_PER_KEY = 16;
/** A key's probes all fall in one block of 16 words (a cache line or two): one miss a filter. */
const BLOCK_WORDS = 16;

interface Filter {
  readonly words: Uint32Array;
  readonly bits: number;
  /** Blocks − 1 (a power of two). */
  readonly blockMask: number;
  readonly capacity: number;
  count: number;
  /** The latest good-until (ms) of a key added: past it the filter holds nothing live. */
  untilMs: number;
}

export class EvictedKeys {
  private filters: Filter[] = [];
  private bitsHeld = 0;

  /** firstBits, capBits: powers of two, firstBits ≥ 512. */
  constructor(
    private readonly firstBits: number,
    private readonly capBits: number,
  ) {}

  /** Notes an evicted key whose figure is good until untilMs. */
  add(id: string, untilMs: number, now: number): void {
    this.dropLapsed(now);
    let f = this.filters[this.filters.length - 1];
    if (f === undefined || f.count >= f.capacity) {
      // Twice the last, or the largest that fits in the room lapsed filters left: a doubled
      // size that never fits again would leave the newest filter taking every key for good.
      let bits = f === undefined ? this.firstBits : 2 * f.bits;
      while (bits > this.firstBits && this.bitsHeld + bits > this.capBits) bits /= 2;
      if (f === undefined || this.bitsHeld + bits <= this.capBits) f = this.open(bits);
    }
    const h1 = hash(id, 0x27d4eb2f);
    let g = hash(id, 0x165667b1);
    const step = (Math.imul(h1, 0x9e3779b1) >>> 0) | 1;
    const base = (h1 & f.blockMask) * BLOCK_WORDS;
    for (let i = 0; i < PROBES; i++, g = (g + step) >>> 0) {
      const b = g >>> 23; // 0…511 within the block
      f.words[base + (b >>> 5)] |= 1 << (b & 31);
    }
    f.count++;
    if (untilMs > f.untilMs) f.untilMs = untilMs;
  }

  /** Whether the key may have been evicted with a figure still good at now (false: it surely was not). */
  has(id: string, now: number): boolean {
    let h1 = -1;
    let g0 = 0;
    let step = 0;
    for (const f of this.filters) {
      if (f.untilMs <= now) continue;
      if (h1 < 0) {
        h1 = hash(id, 0x27d4eb2f);
        g0 = hash(id, 0x165667b1);
        step = (Math.imul(h1, 0x9e3779b1) >>> 0) | 1;
      }
      const base = (h1 & f.blockMask) * BLOCK_WORDS;
      let g = g0;
      let all = true;
      for (let i = 0; i < PROBES; i++, g = (g + step) >>> 0) {
        const b = g >>> 23;
        if ((f.words[base + (b >>> 5)] & (1 << (b & 31))) === 0) {
          all = false;
          break;
        }
      }
      if (all) return true;
    }
    return false;
  }

  /** Bytes the filters take. */
  get bytes(): number {
    return this.bitsHeld / 8;
  }

  private open(bits: number): Filter {
    const f: Filter = { words: new Uint32Array(bits >>> 5), bits, blockMask: bits / (32 * BLOCK_WORDS) - 1, capacity: Math.floor(bits / BITS_PER_KEY), count: 0, untilMs: 0 };
    this.filters.push(f);
    this.bitsHeld += bits;
    return f;
  }

  private dropLapsed(now: number): void {
    if (!this.filters.some((f) => f.untilMs <= now)) return;
    this.filters = this.filters.filter((f) => {
      if (f.untilMs > now) return true;
      this.bitsHeld -= f.bits;
      return false;
    });
  }
}

/** FNV-1a over UTF-16 code units with a seed, then a finalizer (as the sketch's, other seeds). */
export function hash(s: string, seed: number): number {
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
