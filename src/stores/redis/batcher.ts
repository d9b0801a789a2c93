import { RESULT_BYTES } from './encode.js';

/**
 * Coalesces transactions from concurrent callers into few script calls.
 *
 * A transaction submitted while nothing is queued or in flight goes out at once. Others
 * submitted while fewer than `maxInFlight` calls are outstanding go out at the end of the
 * current tick (a microtask), several per call; while the pipe is full
 * they wait, and each reply sends everything that queued up meanwhile (up to `maxBatch`
 * transactions per call). Under load batches grow on their own; alone, a call goes out
 * at once. Each transaction keeps its own atomicity: the script decides them one after
 * another. In Cluster mode only transactions of one slot share a call.
 */

export type Send = (slot: number, keys: string[], args: string[]) => Promise<unknown[]>;

/**
 * Turns one transaction's reply into what submit() resolves with. It runs in the reply loop,
 * so a transaction costs one promise, not a second one chained to decode. `n` is submit's.
 * `text` is the transaction's own reply element (offset 0), or the call's one results string,
 * where this transaction's start at `offset` (see lua/transaction.ts).
 */
export type Finish<T> = (text: unknown, serverNow: number | undefined, n: number, offset: number) => T;

interface Entry {
  keys: string[];
  arg: string;
  n: number;
  at: number;
  finish: Finish<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class Batcher {
  private readonly queues = new Map<number, Entry[]>();
  private queued = 0;
  private inFlight = 0;
  private scheduled = false;
  private readonly timer: NodeJS.Timeout;
  readonly stats = { calls: 0, transactions: 0, expired: 0 };

  constructor(
    private readonly send: Send,
    private readonly opts: { maxInFlight: number; maxBatch: number; timeoutMs: number; onFail?: () => void },
  ) {
    // Transactions that waited in the queue longer than the timeout are refused, so every
    // apply() answers within ~timeout even when the pipe is stuck (calls in flight time out on their own).
    this.timer = setInterval(() => this.expire(), Math.max(10, Math.floor(opts.timeoutMs / 4)));
    this.timer.unref();
  }

  submit<T>(slot: number, keys: string[], arg: string, n: number, finish: Finish<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let q = this.queues.get(slot);
      if (!q) this.queues.set(slot, (q = []));
      q.push({ keys, arg, n, at: Date.now(), finish, resolve: resolve as (v: unknown) => void, reject });
      this.queued++;
      // A lone transaction with nothing in flight goes out at once: nobody is there to share its call.
      if (this.queued === 1 && this.inFlight === 0) {
        this.flush();
        return;
      }
      if (!this.scheduled && this.inFlight < this.opts.maxInFlight) {
        this.scheduled = true;
        queueMicrotask(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  close(error: Error): void {
    clearInterval(this.timer);
    for (const q of this.queues.values()) for (const e of q) this.fail(e, error);
    this.queues.clear();
    this.queued = 0;
  }

  private flush(): void {
    while (this.inFlight < this.opts.maxInFlight && this.queued > 0) {
      for (const [slot, q] of this.queues) {
        if (this.inFlight >= this.opts.maxInFlight) return;
        // With nothing in flight, a queue goes out as two calls, not one: Node decodes the first
        // reply (and sends the checks it frees) while Redis runs the second, instead of the two
        // taking turns to idle.
        const size = this.inFlight === 0 && q.length > 1 ? Math.min(this.opts.maxBatch, Math.ceil(q.length / 2)) : this.opts.maxBatch;
        const batch = q.length <= size ? q : q.slice(0, size);
        if (batch === q) this.queues.delete(slot);
        else q.splice(0, batch.length);
        this.queued -= batch.length;
        this.call(slot, batch);
      }
    }
  }

  private call(slot: number, batch: Entry[]): void {
    this.inFlight++;
    this.stats.calls++;
    this.stats.transactions += batch.length;
    let keys: string[];
    if (batch.length === 1) keys = batch[0].keys;
    else {
      keys = [];
      for (const e of batch) for (const k of e.keys) keys.push(k);
    }
    const args = new Array<string>(batch.length);
    for (let i = 0; i < batch.length; i++) args[i] = batch[i].arg;
    let p: Promise<unknown[]>;
    try {
      p = this.send(slot, keys, args);
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (reply) => {
        this.inFlight--;
        const head = reply[0];
        const serverNow = typeof head === 'number' ? head : undefined;
        // One element per transaction (debug mode), or one results string for the whole call,
        // each transaction's RESULT_BYTES per op in turn.
        const whole = reply.length === 2 && batch.length > 1;
        let offset = 0;
        for (let i = 0; i < batch.length; i++) {
          const e = batch[i];
          const text = whole ? reply[1] : reply[i + 1];
          const at = offset;
          if (whole) offset += e.n * RESULT_BYTES;
          if (text === undefined || text === null) {
            this.fail(e, new Error('sluice redis store: short reply from the transaction script'));
            continue;
          }
          let v: unknown;
          try {
            v = e.finish(text, serverNow, e.n, at);
          } catch (err) {
            this.fail(e, err);
            continue;
          }
          e.resolve(v);
        }
        if (this.queued > 0) this.flush();
      },
      (e: unknown) => {
        this.inFlight--;
        for (const entry of batch) this.fail(entry, e);
        if (this.queued > 0) this.flush();
      },
    );
  }

  private expire(): void {
    if (this.queued === 0) return;
    const limit = Date.now() - this.opts.timeoutMs;
    for (const [slot, q] of this.queues) {
      let n = 0;
      while (n < q.length && q[n].at <= limit) n++;
      if (n === 0) continue;
      const gone = q.splice(0, n);
      if (q.length === 0) this.queues.delete(slot);
      this.queued -= n;
      this.stats.expired += n;
      const err = new Error(`sluice redis store: no answer within ${this.opts.timeoutMs} ms`);
      for (const e of gone) this.fail(e, err);
    }
  }

  private fail(e: Entry, error: unknown): void {
    this.opts.onFail?.();
    e.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
