/**
 * The Redis store's batcher (src/stores/redis/batcher.ts) on its own, with a send function
 * that answers like the transaction script: a lone transaction goes out at once (no waiting
 * for the end of the tick), concurrent ones share calls, and every reply reaches its caller.
 */
import { describe, expect, it } from 'vitest';
import { Batcher, type Send } from '../../src/stores/redis/batcher.js';

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
});
