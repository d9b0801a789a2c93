import { describe, expect, it } from 'vitest';
import { Aimd, createPacer, type Pacer, type PacerEvents } from '../../src/pacer/index.js';
import { FakeClock } from '../client/support/fake-clock.js';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

/**
 * A webhook receiver with a capacity that can change: a token bucket of `capacity`/s
 * (burst 5). Over capacity it answers 429 (optionally with Retry-After), or, in
 * 'latency' mode, answers slowly instead (its queue grows).
 */
function receiver(clock: FakeClock, opts: { mode?: '429' | 'latency'; retryAfter?: string } = {}) {
  let capacity = 50;
  let tokens = 5;
  let last = clock.now();
  let ok = 0;
  const refill = () => {
    const now = clock.now();
    tokens = Math.min(5, tokens + ((now - last) * capacity) / 1000);
    last = now;
  };
  return {
    setCapacity(c: number) {
      refill();
      capacity = c;
    },
    get ok() {
      return ok;
    },
    job: async (signal: AbortSignal): Promise<Response> => {
      refill();
      const fits = tokens >= 1;
      if (fits) tokens -= 1;
      if (opts.mode === 'latency') {
        await clock.sleep(fits ? 20 : 600, signal);
        ok++;
        return new Response(null, { status: 200 });
      }
      await clock.sleep(20, signal);
      if (fits) {
        ok++;
        return new Response(null, { status: 200 });
      }
      return new Response(null, { status: 429, headers: opts.retryAfter ? { 'retry-after': opts.retryAfter } : {} });
    },
  };
}

/** Keeps `key` busy with `n` jobs; failures are expected and swallowed. */
function flood(pacer: Pacer, key: string, n: number, job: (s: AbortSignal) => Promise<Response>): void {
  for (let i = 0; i < n; i++) pacer.schedule(key, job).catch(() => undefined);
}

/** Samples the key's rate once per second for `seconds`. */
async function sample(clock: FakeClock, pacer: Pacer, key: string, seconds: number): Promise<number[]> {
  const out: number[] = [];
  for (let s = 0; s < seconds; s++) {
    await clock.advance(1000);
    out.push(pacer.rate(key));
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('adaptive (AIMD) rate', () => {
  it('settles around a receiver capacity of 50/s, then 20/s after it drops mid-run', async () => {
    const clock = new FakeClock(T0);
    const rx = receiver(clock);
    const pacer = createPacer({ clock, adaptive: { min: 1, max: 200, initial: 10, increasePerSec: 5, decrease: 0.7 }, concurrency: 100 });
    const cuts: PacerEvents['rate'][] = [];
    pacer.on('rate', (e) => e.reason === 'decrease' && cuts.push(e));
    flood(pacer, 'hook', 6000, rx.job);

    const phase1 = await sample(clock, pacer, 'hook', 30);
    const ok1 = rx.ok;
    rx.setCapacity(20);
    const phase2 = await sample(clock, pacer, 'hook', 30);
    const ok2 = rx.ok - ok1;
    await clock.run(pacer.stop({ drain: false }));

    // Warm-up: from 10/s it climbs; in the last 10 s of each phase it has settled.
    const settled1 = phase1.slice(20);
    const settled2 = phase2.slice(15);
    for (const r of settled1) expect(r).toBeGreaterThan(50 * 0.5);
    for (const r of settled1) expect(r).toBeLessThan(50 * 1.3);
    for (const r of settled2) expect(r).toBeGreaterThan(20 * 0.5);
    for (const r of settled2) expect(r).toBeLessThan(20 * 1.3);
    expect(mean(settled1)).toBeGreaterThan(50 * 0.7);
    expect(mean(settled2)).toBeGreaterThan(20 * 0.7);
    // The receiver was kept busy: most of its capacity was used in each phase.
    expect(ok2 / 30).toBeGreaterThan(20 * 0.7);
    expect(cuts.length).toBeGreaterThan(3);
  });

  it('also backs off on slow answers (slowMs), not only on errors', async () => {
    const clock = new FakeClock(T0);
    const rx = receiver(clock, { mode: 'latency' });
    rx.setCapacity(30);
    const pacer = createPacer({ clock, adaptive: { min: 1, max: 200, initial: 60, increasePerSec: 5, slowMs: 250 }, concurrency: 200 });
    flood(pacer, 'hook', 4000, rx.job);
    const rates = await sample(clock, pacer, 'hook', 40);
    await clock.run(pacer.stop({ drain: false }));
    const settled = rates.slice(20);
    for (const r of settled) expect(r).toBeGreaterThan(30 * 0.5);
    for (const r of settled) expect(r).toBeLessThan(30 * 1.3);
  });

  it('two independent pacers (no shared state) converge to fair shares of one receiver', async () => {
    const clock = new FakeClock(T0);
    const rx = receiver(clock);
    rx.setCapacity(40);
    const a = createPacer({ clock, adaptive: { min: 1, max: 200, initial: 35, increasePerSec: 2, decrease: 0.5 } });
    const b = createPacer({ clock, adaptive: { min: 1, max: 200, initial: 2, increasePerSec: 2, decrease: 0.5 } });
    flood(a, 'hook', 6000, rx.job);
    flood(b, 'hook', 6000, rx.job);
    const ra: number[] = [];
    const rb: number[] = [];
    for (let s = 0; s < 120; s++) {
      await clock.advance(1000);
      ra.push(a.rate('hook'));
      rb.push(b.rate('hook'));
    }
    await clock.run(Promise.all([a.stop({ drain: false }), b.stop({ drain: false })]));
    // Started 35 vs 2; after two minutes their average rates are within 30% of each other.
    const ma = mean(ra.slice(60));
    const mb = mean(rb.slice(60));
    expect(Math.abs(ma - mb) / Math.max(ma, mb)).toBeLessThan(0.3);
    expect(ma + mb).toBeGreaterThan(40 * 0.6);
  });

  it('honours Retry-After by pausing the key, and cuts the rate once', async () => {
    const clock = new FakeClock(T0);
    const starts: number[] = [];
    let limited = false;
    const pacer = createPacer({ clock, adaptive: { min: 1, max: 100, initial: 40, increasePerSec: 1 } });
    const pauses: PacerEvents['pause'][] = [];
    pacer.on('pause', (p) => pauses.push(p));
    const job = async (signal: AbortSignal) => {
      starts.push(clock.now() - T0);
      await clock.sleep(10, signal);
      if (!limited && clock.now() - T0 >= 1000) {
        limited = true;
        return new Response(null, { status: 429, headers: { 'retry-after': '3' } });
      }
      return new Response(null, { status: 200 });
    };
    flood(pacer, 'hook', 400, job);
    await clock.advance(6000);
    await clock.run(pacer.stop({ drain: false }));
    expect(pauses.length).toBe(1);
    const pauseStart = pauses[0].untilMs - T0 - 3000;
    // Nothing started during the pause (jobs already running when it arrived excepted).
    expect(starts.filter((t) => t > pauseStart && t < pauseStart + 3000)).toEqual([]);
    expect(starts.some((t) => t >= pauseStart + 3000)).toBe(true);
    expect(pacer.rate('hook')).toBeLessThan(40);
  });
});

describe('Aimd', () => {
  it('adds increasePerSec per second of busy success and multiplies on congestion, within floor and ceiling', () => {
    const a = new Aimd({ min: '2/s', max: '20/s', initial: 10, increasePerSec: 2, decrease: 0.5 });
    for (let i = 0; i < 10; i++) a.success(true); // one second's worth at 10/s
    expect(a.rate).toBeCloseTo(12, 0);
    a.success(false);
    expect(a.rate).toBeCloseTo(12, 0); // idle keys prove nothing
    a.congestion(0, 1000);
    expect(a.rate).toBeCloseTo(6, 0);
    a.congestion(500, 1001); // started before the cut: same episode
    expect(a.rate).toBeCloseTo(6, 0);
    for (let i = 0; i < 5; i++) a.congestion(2000 + i, 2000 + i);
    expect(a.rate).toBe(2);
    for (let i = 0; i < 10_000; i++) a.success(true);
    expect(a.rate).toBe(20);
    expect(() => new Aimd({ min: 10, max: 5 })).toThrow(/exceeds/);
  });
});
