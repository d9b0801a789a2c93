import { describe, expect, it } from 'vitest';
import {
  createPacer,
  JobDroppedError,
  PacerStoppedError,
  QueueFullError,
  type Job,
  type PacerEvents,
} from '../../src/pacer/index.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { Store } from '../../src/stores/store.js';
import { FakeClock, settle } from '../client/support/fake-clock.js';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

/** A job that records when it started and returns its label. */
function recorder(clock: FakeClock) {
  const starts: { label: string; at: number }[] = [];
  const job =
    (label: string, workMs = 0): Job<string> =>
    async (signal) => {
      starts.push({ label, at: clock.now() - T0 });
      if (workMs > 0) await clock.sleep(workMs, signal);
      return label;
    };
  return { starts, job };
}

describe('rate', () => {
  it('releases N jobs at rate r in (N-1)/r, evenly spaced', async () => {
    const clock = new FakeClock(T0);
    const pacer = createPacer({ rate: '20/s', clock });
    const { starts, job } = recorder(clock);
    const all = Promise.all(Array.from({ length: 200 }, (_, i) => pacer.schedule('channel-1', job(String(i)))));
    const results = await clock.run(all, 50_000);
    expect(results).toEqual(Array.from({ length: 200 }, (_, i) => String(i)));
    expect(starts[0].at).toBe(0);
    expect(starts.at(-1)!.at).toBe(199 * 50);
    for (let i = 1; i < starts.length; i++) expect(starts[i].at - starts[i - 1].at).toBe(50);
    expect(pacer.stats('channel-1')).toMatchObject({ queued: 0, running: 0, sent: 200, failed: 0, ratePerSec: 20 });
  });

  it('a 10,000-contact broadcast drains at 80/s in 125 s', async () => {
    const clock = new FakeClock(T0);
    const pacer = createPacer({ rate: '80/s', clock });
    let last = 0;
    let n = 0;
    const all = Promise.all(
      Array.from({ length: 10_000 }, () =>
        pacer.schedule('whatsapp-channel', async () => {
          n++;
          last = clock.now() - T0;
        }),
      ),
    );
    await clock.run(all, 50_000);
    expect(n).toBe(10_000);
    expect(last).toBe(Math.ceil(9_999 * 12.5)); // slots are 12.5 ms apart; timers round up to whole ms
  });

  it('honours a burst, then spaces evenly; slow rates such as 3/1m work', async () => {
    const clock = new FakeClock(T0);
    const pacer = createPacer({ rate: { limit: 3, windowMs: 60_000, burst: 3 }, clock });
    const { starts, job } = recorder(clock);
    await clock.run(Promise.all(Array.from({ length: 6 }, (_, i) => pacer.schedule('connector', job(String(i))))));
    expect(starts.map((s) => s.at)).toEqual([0, 0, 0, 20_000, 40_000, 60_000]);
  });

  it('keys are paced independently', async () => {
    const clock = new FakeClock(T0);
    const pacer = createPacer({ rate: (key) => (key === 'fast' ? '10/s' : '2/s'), clock });
    const { starts, job } = recorder(clock);
    const all = Promise.all([
      ...Array.from({ length: 11 }, (_, i) => pacer.schedule('fast', job(`f${i}`))),
      ...Array.from({ length: 3 }, (_, i) => pacer.schedule('slow', job(`s${i}`))),
    ]);
    await clock.run(all);
    expect(starts.filter((s) => s.label.startsWith('f')).at(-1)!.at).toBe(1000);
    expect(starts.filter((s) => s.label.startsWith('s')).map((s) => s.at)).toEqual([0, 500, 1000]);
    expect(pacer.rate('fast')).toBe(10);
    expect(pacer.rate('slow')).toBe(2);
  });

  it('two pacers sharing a store (same name) keep to one rate between them', async () => {
    const clock = new FakeClock(T0);
    const store = new MemoryStore();
    const a = createPacer({ rate: '10/s', clock, store, name: 'sms' });
    const b = createPacer({ rate: '10/s', clock, store, name: 'sms' });
    const { starts, job } = recorder(clock);
    const all = Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).schedule('channel-9', job(String(i)))),
    );
    await clock.run(all);
    const at = starts.map((s) => s.at).sort((x, y) => x - y);
    for (let i = 1; i < at.length; i++) expect(at[i] - at[i - 1]).toBeGreaterThanOrEqual(100);
    expect(at.at(-1)).toBe(3900);
  });

  it('a run-time override in the store changes the pacing rate (admin API)', async () => {
    const clock = new FakeClock(T0);
    const store = new MemoryStore();
    await store.setOverride({ key: 'pacer|default|slowpoke', rule: 'pacer', keyValues: {}, limit: 1, windowMs: 1000 });
    const pacer = createPacer({ rate: '100/s', clock, store, burst: 1 });
    const { starts, job } = recorder(clock);
    await clock.run(Promise.all([pacer.schedule('slowpoke', job('a')), pacer.schedule('slowpoke', job('b'))]));
    // An override's burst is its limit (1 here): one per second.
    expect(starts.map((s) => s.at)).toEqual([0, 1000]);
    expect(pacer.stats('slowpoke').ratePerSec).toBe(1);
  });
});

describe('priorities and concurrency', () => {
  it('runs higher priority first, FIFO within a priority', async () => {
    const clock = new FakeClock(T0);
    const pacer = createPacer({ rate: '10/s', clock });
    const { starts, job } = recorder(clock);
    const ps = [
      pacer.schedule('k', job('low-1'), { priority: 0 }),
      pacer.schedule('k', job('low-2'), { priority: 0 }),
      pacer.schedule('k', job('high-1'), { priority: 10 }),
      pacer.schedule('k', job('mid-1'), { priority: 5 }),
      pacer.schedule('k', job('high-2'), { priority: 10 }),
      pacer.schedule('k', job('neg'), { priority: -1 }),
    ];
    await clock.run(Promise.all(ps));
    expect(starts.map((s) => s.label)).toEqual(['high-1', 'high-2', 'mid-1', 'low-1', 'low-2', 'neg']);
  });

  it('a later high-priority job overtakes the queue', async () => {
    const clock = new FakeClock(T0);
    const pacer = createPacer({ rate: '1/s', clock });
    const { starts, job } = recorder(clock);
    const ps = [1, 2, 3, 4].map((i) => pacer.schedule('k', job(`bulk-${i}`)));
    await clock.advance(1500);
    ps.push(pacer.schedule('k', job('urgent'), { priority: 1 }));
    await clock.run(Promise.all(ps));
    expect(starts.map((s) => s.label)).toEqual(['bulk-1', 'bulk-2', 'urgent', 'bulk-3', 'bulk-4']);
    expect(starts.map((s) => s.at)).toEqual([0, 1000, 2000, 3000, 4000]);
  });

  it('never runs more than `concurrency` jobs at once, across keys', async () => {
    const clock = new FakeClock(T0);
    const pacer = createPacer({ rate: '1000/s', concurrency: 3, clock });
    let running = 0;
    let peak = 0;
    const job = async (signal: AbortSignal) => {
      running++;
      peak = Math.max(peak, running);
      await clock.sleep(1000, signal);
      running--;
    };
    const all = Promise.all(Array.from({ length: 12 }, (_, i) => pacer.schedule(`k${i % 4}`, job)));
    await clock.advance(10);
    expect(pacer.stats()).toMatchObject({ running: 3, queued: 9 });
    await clock.run(all);
    expect(peak).toBe(3);
    expect(clock.now() - T0).toBeGreaterThanOrEqual(4000);
    expect(clock.now() - T0).toBeLessThan(4100);
  });

  it('keyConcurrency bounds one key while others proceed', async () => {
    const clock = new FakeClock(T0);
    const pacer = createPacer({ rate: '1000/s', keyConcurrency: 1, clock });
    const running = new Map<string, number>();
    let peak = 0;
    const job = (key: string) => async (signal: AbortSignal) => {
      running.set(key, (running.get(key) ?? 0) + 1);
      peak = Math.max(peak, running.get(key)!);
      await clock.sleep(100, signal);
      running.set(key, running.get(key)! - 1);
    };
    const all = Promise.all(['a', 'a', 'a', 'b', 'b', 'b'].map((k) => pacer.schedule(k, job(k))));
    await clock.run(all);
    expect(peak).toBe(1);
    expect(clock.now() - T0).toBeLessThan(350); // a and b in parallel: ~3 x 100 ms
  });
});

describe('back-pressure', () => {
  it('rejects with QueueFullError (key, limit) beyond maxQueue', async () => {
    const clock = new FakeClock(T0);
    const pacer = createPacer({ rate: '1/s', maxQueue: 3, clock });
    const job = async () => 'ok';
    const ok = [1, 2, 3].map(() => pacer.schedule('chan', job));
    const err = await pacer.schedule('chan', job).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueFullError);
    expect(err).toMatchObject({ key: 'chan', limit: 3, job });
    expect((err as Error).message).toMatch(/chan.*full.*3/);
    // (By now the first job has started: the check above was made with three waiting.)
    expect(pacer.stats('chan')).toMatchObject({ queued: 2, rejected: 1 });
    // Other keys have their own room.
    const other = pacer.schedule('other', job);
    await clock.run(Promise.all([...ok, other]));
  });

  it('drop-newest refuses the incoming job; drop-oldest evicts the longest-waiting lowest-priority one', async () => {
    const clock = new FakeClock(T0);
    const drops: PacerEvents['drop'][] = [];
    const newest = createPacer({ rate: '1/s', maxQueue: 2, onFull: 'drop-newest', clock });
    newest.on('drop', (d) => drops.push(d));
    const a = newest.schedule('k', async () => 'a');
    const b = newest.schedule('k', async () => 'b');
    const c = newest.schedule('k', async () => 'c').catch((e: unknown) => e);
    expect(await c).toBeInstanceOf(JobDroppedError);
    expect(await clock.run(Promise.all([a, b]))).toEqual(['a', 'b']);
    expect(newest.stats('k').dropped).toBe(1);

    const oldest = createPacer({ rate: '1/s', maxQueue: 2, onFull: 'drop-oldest', clock });
    const x = oldest.schedule('k', async () => 'x').catch((e: unknown) => e);
    const y = oldest.schedule('k', async () => 'y', { priority: 5 });
    const z = oldest.schedule('k', async () => 'z');
    // A job below everything queued is the one dropped.
    const w = oldest.schedule('k', async () => 'w', { priority: -1 }).catch((err: unknown) => err);
    const e = await x;
    expect(e).toBeInstanceOf(JobDroppedError);
    expect(e).toMatchObject({ key: 'k', policy: 'drop-oldest' });
    expect(await w).toBeInstanceOf(JobDroppedError);
    expect(await clock.run(Promise.all([y, z]))).toEqual(['y', 'z']);
    expect(drops.map((d) => d.policy)).toEqual(['drop-newest']);
    expect(oldest.stats('k')).toMatchObject({ dropped: 2, sent: 2 });
  });

  it('waitForRoom lets a producer feed a large file with bounded memory', async () => {
    const clock = new FakeClock(T0);
    const pacer = createPacer({ rate: '100/s', maxQueue: 10, clock });
    let peak = 0;
    const produce = (async () => {
      const ps: Promise<unknown>[] = [];
      for (let i = 0; i < 200; i++) {
        await pacer.waitForRoom('k');
        ps.push(pacer.schedule('k', async () => i));
        peak = Math.max(peak, pacer.stats('k').queued);
      }
      await Promise.all(ps);
    })();
    await clock.run(produce, 50_000);
    expect(peak).toBeLessThanOrEqual(10);
    expect(pacer.stats('k').sent).toBe(200);
  });

  it('a job aborted while queued leaves the queue and rejects with the reason', async () => {
    const clock = new FakeClock(T0);
    const pacer = createPacer({ rate: '1/s', clock });
    const { starts, job } = recorder(clock);
    const ac = new AbortController();
    const a = pacer.schedule('k', job('a'));
    const b = pacer.schedule('k', job('b'), { signal: ac.signal }).catch((e: unknown) => e);
    const c = pacer.schedule('k', job('c'));
    ac.abort(new Error('user cancelled'));
    expect(((await b) as Error).message).toBe('user cancelled');
    await clock.run(Promise.all([a, c]));
    expect(starts.map((s) => s.label)).toEqual(['a', 'c']);
    expect(pacer.stats('k')).toMatchObject({ cancelled: 1, sent: 2 });
  });
});

describe('stop', () => {
  it('drain: true runs everything queued, at the rate, and refuses new work', async () => {
    const clock = new FakeClock(T0);
    const pacer = createPacer({ rate: '10/s', clock });
    const { starts, job } = recorder(clock);
    const ps = Array.from({ length: 5 }, (_, i) => pacer.schedule('k', job(String(i))));
    const stopped = pacer.stop({ drain: true });
    const late = await pacer.schedule('k', job('late')).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(PacerStoppedError);
    expect(await clock.run(stopped)).toEqual([]);
    expect(await Promise.all(ps)).toEqual(['0', '1', '2', '3', '4']);
    expect(starts.at(-1)!.at).toBe(400);
  });

  it('drain: false hands back every job not started; their promises reject with the job attached', async () => {
    const clock = new FakeClock(T0);
    const pacer = createPacer({ rate: '10/s', clock });
    const { starts, job } = recorder(clock);
    const jobs = Array.from({ length: 10 }, (_, i) => job(String(i), 50));
    const ps = jobs.map((j, i) => pacer.schedule(i < 5 ? 'a' : 'b', j).catch((e: unknown) => e));
    await clock.advance(250); // a0..a2 and b0..b2 have started
    const handed = await clock.run(pacer.stop({ drain: false }));
    expect(starts.length).toBe(6);
    expect(handed.map((h) => h.job)).toEqual([jobs[3], jobs[4], jobs[8], jobs[9]]);
    expect(handed.map((h) => h.key)).toEqual(['a', 'a', 'b', 'b']);
    const results = await Promise.all(ps);
    expect(results.slice(0, 3)).toEqual(['0', '1', '2']);
    const e = results[3];
    expect(e).toBeInstanceOf(PacerStoppedError);
    expect((e as PacerStoppedError).job).toBe(jobs[3]);
    // Nothing lost: every job ran or came back.
    expect(starts.length + handed.length).toBe(10);
    await clock.advance(10_000);
    expect(starts.length).toBe(6);
    expect(pacer.stats()).toMatchObject({ queued: 0, running: 0, sent: 6, cancelled: 4 });
  });
  it('abortRunning aborts the signal of running jobs', async () => {
    const clock = new FakeClock(T0);
    const pacer = createPacer({ rate: '100/s', clock });
    const seen: unknown[] = [];
    const long = (signal: AbortSignal) => clock.sleep(60_000, signal).catch((e: unknown) => void seen.push(e));
    const ps = [pacer.schedule('a', long), pacer.schedule('b', long)];
    await clock.advance(10);
    expect(pacer.stats().running).toBe(2);
    await clock.run(pacer.stop({ drain: false, abortRunning: true }));
    await Promise.all(ps);
    expect(seen.map((e) => (e as Error).name)).toEqual(['PacerStoppedError', 'PacerStoppedError']);
  });

  it('a hard stop during a drain ends the drain and hands back the rest', async () => {
    const clock = new FakeClock(T0);
    const pacer = createPacer({ rate: '10/s', clock });
    const { starts, job } = recorder(clock);
    const ps = Array.from({ length: 10 }, (_, i) => pacer.schedule('k', job(String(i))).catch((e: unknown) => e));
    const draining = pacer.stop({ drain: true });
    await clock.advance(250);
    const handed = await clock.run(pacer.stop({ drain: false }));
    expect(await clock.run(draining)).toEqual([]);
    expect(starts.length + handed.length).toBe(10);
    expect((await Promise.all(ps)).filter((r) => r instanceof PacerStoppedError).length).toBe(handed.length);
  });
});

describe('outcomes, retries, Retry-After', () => {
  it('pauses a key for a 429 Retry-After, leaving other keys alone', async () => {
    const clock = new FakeClock(T0);
    const pacer = createPacer({ rate: '10/s', clock });
    const pauses: PacerEvents['pause'][] = [];
    pacer.on('pause', (p) => pauses.push(p));
    const { starts, job } = recorder(clock);
    const limited = pacer.schedule('hook', async () => {
      starts.push({ label: 'limited', at: clock.now() - T0 });
      return new Response(null, { status: 429, headers: { 'retry-after': '5' } });
    });
    const rest = [1, 2, 3].map((i) => pacer.schedule('hook', job(`h${i}`)));
    const other = [1, 2].map((i) => pacer.schedule('other', job(`o${i}`)));
    const res = await clock.run(limited);
    expect(res.status).toBe(429); // the Response is handed back; counted as failed
    await clock.run(Promise.all([...rest, ...other]));
    const at = Object.fromEntries(starts.map((s) => [s.label, s.at]));
    expect(at.limited).toBe(0);
    expect(at.h1).toBeGreaterThanOrEqual(5000);
    expect(at.h2 - at.h1).toBe(100);
    expect(at.o2).toBe(100);
    expect(pauses).toEqual([{ key: 'hook', untilMs: T0 + 5000, retryAfterMs: 5000 }]);
    expect(pacer.stats('hook')).toMatchObject({ failed: 1, sent: 3 });
  });

  it('a job can report the outcome itself (ctx.report)', async () => {
    const clock = new FakeClock(T0);
    const pacer = createPacer({ rate: '10/s', clock });
    const { starts, job } = recorder(clock);
    const first = pacer.schedule('k', async (_signal, ctx) => {
      ctx.report({ ok: false, status: 503, retryAfterMs: 2000 });
      return 'queued by vendor';
    });
    const second = pacer.schedule('k', job('next'));
    expect(await clock.run(first)).toBe('queued by vendor');
    await clock.run(second);
    expect(starts[0].at).toBeGreaterThanOrEqual(2000);
    expect(pacer.stats('k').failed).toBe(1);
  });

  it('retries retryable failures with full-jitter backoff; 4xx are final', async () => {
    const clock = new FakeClock(T0);
    const retries: PacerEvents['retry'][] = [];
    const pacer = createPacer({ rate: '100/s', clock, retry: { attempts: 3, baseMs: 100, capMs: 1000 }, random: () => 1 });
    pacer.on('retry', (r) => retries.push(r));
    let calls = 0;
    const flaky = pacer.schedule('k', async (_s, ctx) => {
      calls++;
      if (ctx.attempt < 2) throw new Error('ECONNRESET');
      return 'finally';
    });
    expect(await clock.run(flaky)).toBe('finally');
    expect(calls).toBe(3);
    expect(retries.map((r) => r.delayMs)).toEqual([100, 200]);
    let bad = 0;
    const r400 = await clock.run(
      pacer.schedule('k', async () => {
        bad++;
        return new Response('nope', { status: 400 });
      }),
    );
    expect(r400.status).toBe(400);
    expect(bad).toBe(1);
    const gaveUp = pacer.schedule('k', async () => {
      throw Object.assign(new Error('upstream'), { status: 502 });
    });
    const e = await clock.run(gaveUp.catch((x: unknown) => x));
    expect((e as Error).message).toBe('upstream');
    expect(pacer.stats('k')).toMatchObject({ sent: 1, failed: 2, retried: 5 });
  });

  it('times out slow jobs through their signal', async () => {
    const clock = new FakeClock(T0);
    const pacer = createPacer({ rate: '10/s', clock, timeoutMs: 1000 });
    const p = pacer.schedule('k', (signal) => clock.sleep(60_000, signal).then(() => 'late'));
    const e = await clock.run(p.catch((x: unknown) => x));
    expect(e).toMatchObject({ name: 'JobTimeoutError', timeoutMs: 1000 });
    expect(clock.now() - T0).toBe(1000);
  });

  it('holds the key (fails closed) while the store is down, then carries on', async () => {
    const clock = new FakeClock(T0);
    const mem = new MemoryStore();
    let down = true;
    const flaky: Store = Object.assign(Object.create(mem) as Store, {
      apply: (ops: Parameters<Store['apply']>[0], now: number) => (down ? Promise.reject(new Error('ECONNREFUSED')) : mem.apply(ops, now)),
    });
    const pacer = createPacer({ rate: '10/s', clock, store: flaky, random: () => 0.5 });
    const errors: PacerEvents['store-error'][] = [];
    pacer.on('store-error', (e) => errors.push(e));
    let ran = false;
    const p = pacer.schedule('k', async () => (ran = true));
    await clock.advance(2000);
    expect(ran).toBe(false);
    expect(errors.length).toBeGreaterThan(2);
    down = false;
    await clock.run(p);
    expect(ran).toBe(true);
  });

  it('reports progress through events and stats', async () => {
    const clock = new FakeClock(T0);
    const pacer = createPacer({ rate: '5/s', clock });
    let sent = 0;
    pacer.on('sent', () => sent++);
    const all = Promise.all(Array.from({ length: 25 }, () => pacer.schedule('k', async () => undefined)));
    await clock.advance(2000);
    const s = pacer.stats();
    expect(s.sent).toBe(sent);
    expect(s.sent + s.queued + s.running).toBe(25);
    expect(s.ratePerSec).toBe(5);
    expect(s.throughputPerSec).toBeGreaterThan(4);
    expect(s.throughputPerSec).toBeLessThanOrEqual(6);
    await clock.run(all);
    await settle();
  });
});
