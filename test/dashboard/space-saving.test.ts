import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundBytes, MAX_KEY_CHARS, SpaceSaving } from '../../src/dashboard/space-saving.js';
import { DashboardRecorder, PER_RULE_CAPACITY, SAMPLE_BYTES } from '../../src/dashboard/recorder.js';
import { Sluice } from '../../src/engine/sluice.js';
import type { Subject } from '../../src/policy/compiled.js';

function exact(stream: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of stream) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

describe('Space-Saving summary', () => {
  it('counts exactly while the distinct keys fit', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { maxLength: 300 }), (stream) => {
        const s = new SpaceSaving(5);
        for (const k of stream) s.offer(k);
        const want = exact(stream);
        const got = s.top(5);
        expect(got.length).toBe(want.size);
        for (const h of got) {
          expect(h.count).toBe(want.get(h.key));
          expect(h.error).toBe(0);
        }
        // Highest first.
        for (let i = 1; i < got.length; i++) expect(got[i - 1].count).toBeGreaterThanOrEqual(got[i].count);
      }),
    );
  });

  it('keeps its guarantees on any stream: true count within [count - error, count], and every key above N/capacity held', () => {
    const key = fc.oneof(fc.constantFrom('hot', 'warm'), fc.integer({ min: 0, max: 60 }).map((i) => `k${i}`));
    fc.assert(
      fc.property(fc.array(key, { maxLength: 600 }), fc.integer({ min: 1, max: 12 }), (stream, capacity) => {
        const s = new SpaceSaving(capacity);
        for (const k of stream) s.offer(k);
        const want = exact(stream);
        const held = s.top(capacity);
        expect(held.length).toBeLessThanOrEqual(capacity);
        expect(s.weight).toBe(stream.length);
        expect(held.reduce((n, h) => n + h.count, 0)).toBe(stream.length); // Space-Saving conserves weight
        for (const h of held) {
          const truth = want.get(h.key) ?? 0;
          expect(h.count).toBeGreaterThanOrEqual(truth);
          expect(h.count - h.error).toBeLessThanOrEqual(truth);
        }
        const names = new Set(held.map((h) => h.key));
        for (const [k, n] of want) if (n > stream.length / capacity) expect(names.has(k)).toBe(true);
      }),
    );
  });

  it('puts a flooded key first among a million distinct others', () => {
    const s = new SpaceSaving(32);
    for (let i = 0; i < 1_000_000; i++) {
      s.offer(`tenant-${i}`);
      if (i % 10 === 0) s.offer('flooder');
    }
    expect(s.size).toBe(32);
    const [first] = s.top(1);
    expect(first.key).toBe('flooder');
    expect(first.count - first.error).toBeLessThanOrEqual(100_000);
    expect(first.count).toBeGreaterThanOrEqual(100_000);
  });

  it('cuts keys longer than MAX_KEY_CHARS and refuses a capacity that is not a positive integer', () => {
    const s = new SpaceSaving(2);
    s.offer('x'.repeat(10_000));
    expect(s.top(1)[0].key.length).toBe(MAX_KEY_CHARS);
    expect(() => new SpaceSaving(0)).toThrow(/capacity/);
    expect(() => new SpaceSaving(1.5)).toThrow(/capacity/);
  });

  it(`stays under its stated bound (${boundBytes(PER_RULE_CAPACITY, SAMPLE_BYTES)} bytes a rule) with 10^6 distinct refused keys`, () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = () => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    // Refused on arrival (a cost above the limit), so the store keeps no state and only the dashboard could grow.
    const sluice = Sluice.openSync({ policy: 'version: 1\nrules:\n  - name: per-account\n    key: [account]\n    limit: 1/1h\n' });
    const rec = new DashboardRecorder(() => sluice);
    // Long values and full subjects: the most a client can make the summary keep per key.
    const pad = 'v'.repeat(120);
    const refuse = (i: number) => {
      const subject: Subject = { account: `${pad}-${i}`, api: 'List of Conversations', ip: `10.0.${i & 255}.${(i >> 8) & 255}`, region: 'eu-west-1', plan: 'gold' };
      const d = sluice.checkSync(subject, { cost: 2 });
      rec.decision(d, 0.01, subject);
    };
    const before = heap();
    let i = 0;
    for (; i < 10_000; i++) refuse(i);
    const full = heap();
    for (; i < 1_000_000; i++) refuse(i);
    const after = heap();
    rec.tick();
    expect(rec.series(1000, 1)[0].totals.refused).toBe(1_000_000);
    const held = rec.topRefused(1000);
    expect(held.length).toBe(PER_RULE_CAPACITY);
    // Whatever the full summary holds, it holds no more after 990,000 more keys (slack for heap noise).
    expect(after - full).toBeLessThan(64 * 1024);
    // Everything the dashboard added (series rings included, ~130 KB) is within the summary's bound plus the rings.
    expect(after - before).toBeLessThan(boundBytes(PER_RULE_CAPACITY, SAMPLE_BYTES) + 160 * 1024);
    for (const h of held) expect(h.key.account.length).toBeLessThanOrEqual(MAX_KEY_CHARS);
    expect(DashboardRecorder.heavyHitterBoundBytes()).toBe(64 * boundBytes(PER_RULE_CAPACITY, SAMPLE_BYTES));
  });
});
