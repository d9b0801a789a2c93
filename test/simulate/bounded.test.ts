import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../src/simulate/log-entry.js';
import { ReorderBuffer } from '../../src/simulate/reorder.js';
import { loadWithRoutes } from '../../src/simulate/routes-overlay.js';
import { simulate } from '../../src/simulate/simulate.js';
import { SpaceSaving } from '../../src/simulate/space-saving.js';
import { Timeline } from '../../src/simulate/timeline.js';
import { calls, combined, example, logFile, ROUTES, T0 } from './support/lines.js';

const at = (line: number, timeMs: number): LogEntry => ({ line, timeMs, method: 'GET', url: '/', status: 200, bytes: 0, remoteAddress: undefined, headers: {} });

describe('the reorder buffer', () => {
  it('puts lines out of order by less than the window back in (time, line) order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 4999 }), { minLength: 1, maxLength: 300 }), fc.integer({ min: 0, max: 100 }), (jitter, step) => {
        // line i is written at i*step*10 ms plus up to 5 s of jitter: never more than the window behind the newest
        const input = jitter.map((j, i) => at(i + 1, i * step * 10 + j));
        const out: LogEntry[] = [];
        const b = new ReorderBuffer(5000, (e) => out.push(e));
        for (const e of input) b.push(e);
        b.flush();
        expect(out.length).toBe(input.length);
        const sorted = [...input].sort((a, c) => a.timeMs - c.timeMs || a.line - c.line);
        expect(b.lateCount).toBe(0);
        expect(out.map((e) => e.line)).toEqual(sorted.map((e) => e.line));
      }),
    );
  });

  it('never reports late a line within the window', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2999 }), { minLength: 1, maxLength: 200 }), (jitter) => {
        // line i is due at i s, written up to 3 s late: always within a 5 s window
        const out: number[] = [];
        const b = new ReorderBuffer(5000, (e) => out.push(e.timeMs));
        jitter.forEach((j, i) => b.push(at(i + 1, i * 1000 - j + 3000)));
        b.flush();
        expect(b.lateCount).toBe(0);
        expect(out).toEqual([...out].sort((x, y) => x - y));
      }),
    );
  });

  it('a line older than one already released is late: released at once, counted and listed', () => {
    const out: number[] = [];
    const b = new ReorderBuffer(1000, (e) => out.push(e.line));
    b.push(at(1, 10_000));
    b.push(at(2, 20_000)); // releases line 1
    b.push(at(3, 5_000)); // older than line 1, already released: late
    b.flush();
    expect(out).toEqual([1, 3, 2]);
    expect(b.lateCount).toBe(1);
    expect(b.late).toEqual([3]);
  });

  it('holds at most maxHeld lines whatever the window', () => {
    let released = 0;
    const b = new ReorderBuffer(1e12, () => released++, 100);
    for (let i = 0; i < 10_000; i++) b.push(at(i + 1, T0 + i));
    expect(10_000 - released).toBeLessThanOrEqual(100);
  });

  it('end to end: out-of-order lines within the window are decided in time order', async () => {
    const reqs = calls(61, 'acct-7', 900);
    // swap neighbours pairwise: lines arrive up to 0.9 s out of order; the 61st call in time is still the last
    for (let i = 0; i + 1 < 60; i += 2) [reqs[i], reqs[i + 1]] = [reqs[i + 1], reqs[i]];
    const policy = loadWithRoutes(example('contact-center-ai.yaml'), ROUTES);
    const r = await simulate({ policy, log: logFile('ooo.log', reqs, combined) });
    expect(r.late).toBe(0);
    expect(r.rules[0]).toMatchObject({ refused: 1, firstRefusal: { line: 61 } });
    // without a window the swapped lines are late (decided at the time already reached), but none is lost
    const r0 = await simulate({ policy, log: logFile('ooo0.log', reqs, combined), reorderMs: 0 });
    expect(r0.late).toBeGreaterThan(0);
    expect(r0.decided).toBe(61);
  });
});

describe('Space-Saving top keys', () => {
  it('holds every key counted more than total/capacity times, and never undercounts', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 2000 }), fc.integer({ min: 1, max: 20 }), (stream, capacity) => {
        const s = new SpaceSaving<null>(capacity);
        const truth = new Map<number, number>();
        for (const k of stream) {
          s.add(String(k), 1, () => null);
          truth.set(k, (truth.get(k) ?? 0) + 1);
        }
        expect(s.size).toBeLessThanOrEqual(capacity);
        for (const [k, n] of truth) {
          const held = s.get(String(k));
          if (n > stream.length / capacity) expect(held).toBeDefined();
          if (held) {
            expect(held.count).toBeGreaterThanOrEqual(n);
            expect(held.count - held.error).toBeLessThanOrEqual(n);
          }
        }
      }),
    );
  });

  it('is exact while the distinct keys fit', () => {
    const s = new SpaceSaving<null>(3);
    for (const k of ['a', 'b', 'a', 'c', 'a', 'b']) s.add(k, 1, () => null);
    expect(s.top().map((h) => [h.key, h.count, h.error])).toEqual([
      ['a', 3, 0],
      ['b', 2, 0],
      ['c', 1, 0],
    ]);
  });
});

describe('the timeline', () => {
  it('counts per minute and widens its buckets instead of growing past its bound', () => {
    const t = new Timeline(['r'], 8);
    for (let m = 0; m < 20; m++) t.add(T0 + m * 60_000, m % 2 === 0 ? 0 : -1);
    const j = t.toJSON();
    expect(j.widthMs).toBe(240_000);
    expect(j.requests.reduce((a, b) => a + b, 0)).toBe(20);
    expect(j.refused.r.reduce((a, b) => a + b, 0)).toBe(10);
    expect(j.requests.length).toBeLessThanOrEqual(8);
  });
});
