/** Starts per second over the last METER_SECONDS whole seconds (plus the current one). */
const METER_SECONDS = 5;
export class Meter {
  private readonly buckets = new Float64Array(METER_SECONDS + 1);
  private second = -1;
  private first = Infinity;

  add(now: number): void {
    this.roll(now);
    this.buckets[this.second % this.buckets.length]++;
    if (this.first === Infinity) this.first = now;
  }

  perSec(now: number): number {
    this.roll(now);
    let n = 0;
    for (const b of this.buckets) n += b;
    const span = Math.min(now - this.first, METER_SECONDS * 1000 + (now % 1000));
    return span <= 0 ? 0 : (n * 1000) / Math.max(span, 1000);
  }

  private roll(now: number): void {
    const s = Math.floor(now / 1000);
    if (this.second < 0) this.second = s;
    if (s - this.second > this.buckets.length) this.buckets.fill(0);
    else for (let t = this.second + 1; t <= s; t++) this.buckets[t % this.buckets.length] = 0;
    this.second = Math.max(this.second, s);
  }
}
