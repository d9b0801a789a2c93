/**
 * Per-second decision counts kept at several resolutions, in fixed rings: 15 minutes at
 * 1 s, an hour at 10 s, a day at 1 min. Memory is fixed at creation
 * (TIERS × FIELDS numbers per rule, about 130 KB), whatever the traffic.
 *
 * Nothing here reads a clock: the caller says what time it is (tests inject it).
 */

/** What a rule's counts are made of, in the order of every count array. */
export const FIELDS = ['allowed', 'refused', 'dropped', 'near', 'shadow'] as const;
export type Field = (typeof FIELDS)[number];
export const N_FIELDS = FIELDS.length;

export interface Tier {
  /** Width of one slot, ms. */
  readonly stepMs: number;
  /** Slots kept. */
  readonly slots: number;
}

/** 15 min at 1 s, 1 h at 10 s, 24 h at 1 min. */
export const TIERS: readonly Tier[] = [
  { stepMs: 1000, slots: 900 },
  { stepMs: 10_000, slots: 360 },
  { stepMs: 60_000, slots: 1440 },
];

/** One resolution: a ring of slots, each stamped with the slot number it holds (so stale slots read as 0). */
class Ring {
  private readonly data: Float64Array;
  private readonly stamp: Float64Array;

  constructor(readonly tier: Tier) {
    this.data = new Float64Array(tier.slots * N_FIELDS);
    this.stamp = new Float64Array(tier.slots).fill(-1);
  }

  add(now: number, counts: Float64Array): void {
    const slot = Math.floor(now / this.tier.stepMs);
    const i = slot % this.tier.slots;
    const base = i * N_FIELDS;
    if (this.stamp[i] !== slot) {
      this.stamp[i] = slot;
      this.data.fill(0, base, base + N_FIELDS);
    }
    for (let f = 0; f < N_FIELDS; f++) this.data[base + f] += counts[f];
  }

  /** The last `points` slots up to the one holding `now`, oldest first: [field][point]. */
  read(now: number, points: number): { t0: number; values: number[][] } {
    const n = Math.min(points, this.tier.slots);
    const last = Math.floor(now / this.tier.stepMs);
    const first = last - n + 1;
    const values = FIELDS.map(() => new Array<number>(n).fill(0));
    for (let k = 0; k < n; k++) {
      const slot = first + k;
      const i = ((slot % this.tier.slots) + this.tier.slots) % this.tier.slots;
      if (this.stamp[i] !== slot) continue;
      for (let f = 0; f < N_FIELDS; f++) values[f][k] = this.data[i * N_FIELDS + f];
    }
    return { t0: first * this.tier.stepMs, values };
  }
}

/** Counts over time at every resolution of TIERS. */
export class TieredSeries {
  private readonly rings = TIERS.map((t) => new Ring(t));

  /** Adds one tick's counts (FIELDS order) at time `now`. */
  add(now: number, counts: Float64Array): void {
    for (const r of this.rings) r.add(now, counts);
  }

  /** The series at the resolution of `stepMs` (one of TIERS), `points` slots ending at `now`. */
  read(stepMs: number, now: number, points: number): { t0: number; stepMs: number; values: number[][] } {
    const ring = this.rings.find((r) => r.tier.stepMs === stepMs) ?? this.rings[0];
    return { ...ring.read(now, points), stepMs: ring.tier.stepMs };
  }
}
