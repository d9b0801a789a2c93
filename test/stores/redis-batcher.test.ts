/**
 * The Redis store's batcher (src/stores/redis/batcher.ts) on its own, with a send function
 * that answers like the transaction script: a lone transaction goes out at once (no waiting
 * for the end of the tick), concurrent ones share calls, and every reply reaches its caller.
 */
import { describe, expect, it } from 'vitest';
import { Batcher, type Send } from '../../src/stores/redis/batcher.js';
import { RESULT_BYTES } from '../../src/stores/redis/encode.js';

/** Answers each call like the script: server time first, then one reply per transaction (its own arg back). */
function scriptLike(): { send: Send; calls: string[][]; answer: () => void } {
  const calls: string[][] = [];
  const waiting: (() => void)[] = [];
  const send: Send = (_slot, _keys, args) => {
    calls.push(args);
    return new Promise((res) => waiting.push(() => res([1_700_000_000_000, ...args])));
  };
  return { send, calls, answer: () => waiting.splice(0).forEach((f) => f()) };
}

const echo = (text: unknown) => String(text);

describe('redis batcher', () => {
  it('sends a lone transaction at once, before the tick ends', () => {
    const s = scriptLike();
    const b = new Batcher(s.send, { maxInFlight: 8, maxBatch: 128, timeoutMs: 1000 });
    void b.submit(0, ['k'], 'a', 1, echo);
    expect(s.calls).toEqual([['a']]);
    b.close(new Error('done'));
  });

  it('batches what arrives while a call is in flight, and answers every caller with its own reply', async () => {
    const s = scriptLike();
    const b = new Batcher(s.send, { maxInFlight: 1, maxBatch: 128, timeoutMs: 1000 });
    const first = b.submit(0, ['k0'], 't0', 1, echo);
    const rest = Array.from({ length: 5 }, (_, i) => b.submit(0, [`k${i + 1}`], `t${i + 1}`, 1, echo));
    await Promise.resolve();
    expect(s.calls).toEqual([['t0']]); // the pipe (1 call) is full: the others wait for its reply
    s.answer();
    expect(await first).toBe('t0');
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setImmediate(r));
      s.answer();
    }
    expect(await Promise.all(rest)).toEqual(['t1', 't2', 't3', 't4', 't5']);
    expect(s.calls.flat()).toEqual(['t0', 't1', 't2', 't3', 't4', 't5']); // in order
    expect(s.calls.length).toBeLessThan(6); // the five waiting shared calls
    b.close(new Error('done'));
  });

  it('transactions submitted in one tick after the first go out together', async () => {
    const s = scriptLike();
    const b = new Batcher(s.send, { maxInFlight: 8, maxBatch: 128, timeoutMs: 1000 });
    const all = Array.from({ length: 4 }, (_, i) => b.submit(0, [`k${i}`], `t${i}`, 1, echo));
    await Promise.resolve();
    expect(s.calls).toEqual([['t0'], ['t1', 't2', 't3']]);
    s.answer();
    expect(await Promise.all(all)).toEqual(['t0', 't1', 't2', 't3']);
    b.close(new Error('done'));
  });

  it('finds each transaction in a call that answers one results string, RESULT_BYTES per op in turn', async () => {
    const calls: string[][] = [];
    let answer: () => void = () => {};
    // Transaction i of n ops answers n × RESULT_BYTES bytes of the value i, all in one string.
    const send: Send = (_slot, _keys, args) => {
      calls.push(args);
      const blob = Buffer.concat(args.map((a) => Buffer.alloc(Number(a.split(':')[1]) * RESULT_BYTES, Number(a.split(':')[0]))));
      return new Promise((res) => (answer = () => res([1_700_000_000_000, blob])));
    };
    const b = new Batcher(send, { maxInFlight: 1, maxBatch: 128, timeoutMs: 1000 });
    const seen = (text: unknown, serverNow: number | undefined, n: number, offset: number) => {
      const buf = text as Buffer;
      const mine = buf.subarray(offset, offset + n * RESULT_BYTES);
      return { n, serverNow, all: mine.every((x) => x === mine[0]), value: mine[0], bytes: mine.length };
    };
    const first = b.submit(0, ['k'], '9:1', 1, seen);
    const rest = [b.submit(0, ['a'], '1:2', 2, seen), b.submit(0, ['b'], '2:1', 1, seen), b.submit(0, ['c'], '3:3', 3, seen), b.submit(0, ['d'], '4:1', 1, seen)];
    answer();
    expect(await first).toEqual({ n: 1, serverNow: 1_700_000_000_000, all: true, value: 9, bytes: RESULT_BYTES });
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      answer();
    }
    // With nothing in flight a queue goes out halved (see flush): the first call carries two transactions.
    expect(calls.slice(1)).toEqual([['1:2', '2:1'], ['3:3'], ['4:1']]);
    expect(await Promise.all(rest)).toEqual([
      { n: 2, serverNow: 1_700_000_000_000, all: true, value: 1, bytes: 2 * RESULT_BYTES },
      { n: 1, serverNow: 1_700_000_000_000, all: true, value: 2, bytes: RESULT_BYTES },
      { n: 3, serverNow: 1_700_000_000_000, all: true, value: 3, bytes: 3 * RESULT_BYTES },
      { n: 1, serverNow: 1_700_000_000_000, all: true, value: 4, bytes: RESULT_BYTES },
    ]);
    b.close(new Error('done'));
  });
});
