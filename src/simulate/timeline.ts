/**
 * Refusals per rule over time, one bucket per minute of log time. Replayed times never
 * run backwards (see ReorderBuffer), so buckets only grow at the end. Memory follows
 * the log's time span, not its lines: past `maxBuckets` the buckets are merged in
 * pairs and the width doubles (a year of log stays a few thousand points).
 */
export class Timeline {
  /** Width of one bucket, ms. */
  widthMs = 60_000;
  /** Start of the first bucket (ms since the epoch); NaN until the first line. */
  startMs = NaN;
  /** Per series (rule index, or `requests` as the last), counts per bucket. */
  readonly series: number[][];

  constructor(
    private readonly names: readonly string[],
    private readonly maxBuckets = 20_160,
  ) {
    this.series = [...names, 'requests'].map(() => []);
  }

  /** Counts one request at t, refused by the rule at `refusedBy` (or -1). */
  add(t: number, refusedBy: number): void {
    if (Number.isNaN(this.startMs)) this.startMs = Math.floor(t / this.widthMs) * this.widthMs;
    let b = Math.floor((t - this.startMs) / this.widthMs);
    if (b < 0) b = 0; // a late line before the first bucket: counted in it
    while (b >= this.maxBuckets) {
      this.halve();
      b = Math.floor((t - this.startMs) / this.widthMs);
    }
    bump(this.series[this.names.length], b);
    if (refusedBy >= 0) bump(this.series[refusedBy], b);
  }

  get buckets(): number {
    return this.series.reduce((n, s) => Math.max(n, s.length), 0);
  }

  /** Per rule name, its refusals per bucket (zero-filled to the same length). */
  toJSON(): { startMs: number; widthMs: number; requests: number[]; refused: Record<string, number[]> } {
    const n = this.buckets;
    const fill = (s: number[]) => Array.from({ length: n }, (_, i) => s[i] ?? 0);
    const refused: Record<string, number[]> = {};
    this.names.forEach((name, i) => (refused[name] = fill(this.series[i])));
    return { startMs: Number.isNaN(this.startMs) ? 0 : this.startMs, widthMs: this.widthMs, requests: fill(this.series[this.names.length]), refused };
  }

  private halve(): void {
    for (let s = 0; s < this.series.length; s++) {
      const old = this.series[s];
      const merged: number[] = [];
      for (let i = 0; i < old.length; i++) merged[i >> 1] = (merged[i >> 1] ?? 0) + (old[i] ?? 0);
      this.series[s] = merged;
    }
    this.widthMs *= 2;
  }
}

function bump(s: number[], b: number): void {
  while (s.length <= b) s.push(0);
  s[b]++;
}
