/**
 * Decision latency in a small fixed histogram: 40 log-spaced buckets (×1.4 apart) from
 * 2 µs to 1 s, plus one for slower (read as 1.4 s). Percentiles are read as a bucket's upper edge,
 * so they are at most 40% high; that is enough to tell microseconds from milliseconds and
 * a healthy store from a struggling one. The window is the last minute: a snapshot of the
 * cumulative counts is kept per tick (60 of them).
 */
const FIRST_EDGE_MS = 0.002;
const RATIO = 1.4;
const BUCKETS = 40;
const LOG_RATIO = Math.log(RATIO);
const WINDOW_TICKS = 60;

/** Upper edge of bucket i, ms (the overflow bucket, i = BUCKETS, reads as one step past 1 s). */
export function bucketEdgeMs(i: number): number {
  return FIRST_EDGE_MS * RATIO ** i;
}

export function bucketOf(ms: number): number {
  if (!(ms > FIRST_EDGE_MS)) return 0;
  const i = Math.ceil(Math.log(ms / FIRST_EDGE_MS) / LOG_RATIO - 1e-9);
  return i >= BUCKETS ? BUCKETS : i;
}

export interface LatencySummary {
  /** Decisions in the window. */
  count: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
  maxBucketMs: number | null;
}

export class LatencyHistogram {
  private readonly cumulative = new Float64Array(BUCKETS + 1);
  private readonly snapshots: Float64Array[] = [];
  private next = 0;

  add(ms: number): void {
    this.cumulative[bucketOf(ms)]++;
  }

  /** Called once a tick: remembers the counts so far, to read the last minute from. */
  tick(): void {
    if (this.snapshots.length < WINDOW_TICKS) this.snapshots.push(Float64Array.from(this.cumulative));
    else this.snapshots[this.next].set(this.cumulative);
    this.next = (this.next + 1) % WINDOW_TICKS;
  }

  /** Percentiles over the last minute (since the oldest snapshot kept). */
  summary(): LatencySummary {
    const oldest = this.snapshots.length < WINDOW_TICKS ? undefined : this.snapshots[this.next];
    const window = new Float64Array(BUCKETS + 1);
    let count = 0;
    for (let i = 0; i <= BUCKETS; i++) {
      window[i] = this.cumulative[i] - (oldest ? oldest[i] : 0);
      count += window[i];
    }
    const at = (q: number): number | null => {
      if (count === 0) return null;
      const rank = Math.ceil(q * count);
      let seen = 0;
      for (let i = 0; i <= BUCKETS; i++) {
        seen += window[i];
        if (seen >= rank) return round(bucketEdgeMs(i));
      }
      return null;
    };
    let maxBucket: number | null = null;
    for (let i = BUCKETS; i >= 0; i--) {
      if (window[i] > 0) {
        maxBucket = round(bucketEdgeMs(i));
        break;
      }
    }
    return { count, p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99), p999Ms: at(0.999), maxBucketMs: maxBucket };
  }
}

function round(ms: number): number {
  return Number(ms.toPrecision(3));
}
