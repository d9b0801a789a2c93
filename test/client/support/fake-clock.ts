import type { Clock } from '../../../src/client/index.js';

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
}

/** Lets promise chains (including web streams, which use microtasks) run to quiescence. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * Deterministic clock: time only moves when the test says so, and sleeping costs nothing.
 * `run(promise)` drives the system by jumping straight to the next timer whenever
 * everything else is idle.
 */
export class FakeClock implements Clock {
  private timers: Timer[] = [];
  private seq = 0;

  constructor(private t = 0) {}

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer: Timer = {
        at: this.t + Math.max(0, ms),
        seq: this.seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.timers = this.timers.filter((x) => x !== timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.timers.push(timer);
    });
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Fires every timer due by now + ms, in order, letting work settle between them. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    for (;;) {
      await settle();
      const next = this.earliest();
      if (!next || next.at > target) break;
      this.fire(next);
    }
    this.t = target;
    await settle();
  }

  /** Runs until `p` settles, jumping time forward whenever nothing else can happen. */
  async run<T>(p: Promise<T>, maxSteps = 10_000): Promise<T> {
    let done = false;
    p.then(
      () => (done = true),
      () => (done = true),
    );
    for (let step = 0; step < maxSteps; step++) {
      await settle();
      if (done) return p;
      const next = this.earliest();
      if (!next) throw new Error(`deadlock at t=${this.t}: promise pending and no timers`);
      this.fire(next);
    }
    throw new Error('FakeClock.run: too many steps');
  }

  private earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const x of this.timers) if (!best || x.at < best.at || (x.at === best.at && x.seq < best.seq)) best = x;
    return best;
  }

  private fire(timer: Timer): void {
    this.timers = this.timers.filter((x) => x !== timer);
    this.t = Math.max(this.t, timer.at);
    timer.resolve();
  }
}
