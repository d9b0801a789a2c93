import { describe, expect, it } from 'vitest';
import { DashboardRecorder } from '../../src/dashboard/recorder.js';
import { bucketEdgeMs, bucketOf, LatencyHistogram } from '../../src/dashboard/latency.js';
import { TieredSeries, TIERS, N_FIELDS } from '../../src/dashboard/series.js';
import { Sluice } from '../../src/engine/sluice.js';
import { manualClock } from '../helpers/clock.js';
import { accountPolicy, rule } from './policies.js';

const POLICY = accountPolicy(
  rule('name: replies', 'match: { kind: reply }', 'key: [contact]', 'limit: 1/1m', 'action: drop'),
  rule('name: watch-ip', 'key: [ip]', 'limit: 2/1m', 'shadow: true'),
);

function setup() {
  const clock = manualClock(Date.UTC(2026, 0, 5, 9, 0, 0));
  const sluice = Sluice.openSync({ policy: POLICY, clock: clock.now });
  const rec = new DashboardRecorder(() => sluice, { clock: clock.now });
  const decide = (subject: Record<string, string>, ms = 0.05) => {
    const d = sluice.checkSync(subject);
    rec.decision(d, ms, subject);
    return d;
  };
  return { clock, sluice, rec, decide };
}

describe('dashboard bookkeeping', () => {
  it('counts allowed, refused, dropped, near-limit and shadow decisions per rule, per second', () => {
    const { clock, rec, decide } = setup();
    for (let i = 0; i < 5; i++) decide({ account: 'acme', ip: `10.0.0.${i}` }); // 3 allowed, 2 refused
    decide({ account: 'globex', contact: 'c1', kind: 'reply', ip: '10.0.0.9' }); // allowed (per-account 1/3, replies 0/1 left: binding)
    decide({ account: 'globex', contact: 'c1', kind: 'reply', ip: '10.0.0.9' }); // dropped by replies
    decide({ account: 'globex', ip: '10.0.0.9' }); // allowed (watch-ip charged 2/2)
    decide({ account: 'globex', ip: '10.0.0.9' }); // allowed; watch-ip, in shadow mode, would have refused
    rec.tick(clock.now());
    clock.advance(1000);
    decide({ account: 'acme', ip: '10.0.0.1' }); // refused
    rec.tick(clock.now());

    const series = Object.fromEntries(rec.series(1000, 3).map((s) => [s.rule, s]));
    const acme = series["per-account"];
    expect(acme.allowed.slice(-3)).toEqual([0, 5, 0]);
    expect(acme.refused.slice(-3)).toEqual([0, 2, 1]);
    expect(series['replies'].dropped.slice(-3)).toEqual([0, 1, 0]);
    expect(series['replies'].allowed.slice(-3)).toEqual([0, 1, 0]);
    expect(series['watch-ip'].shadow.slice(-3)).toEqual([0, 1, 0]);
    expect(acme.near.slice(-3)[1]).toBeGreaterThan(0);
    expect(acme.totals).toMatchObject({ allowed: 5, refused: 3 });
  });

  it('lists the most refused keys per rule and overall, with the key values by attribute', () => {
    const { rec, decide } = setup();
    for (let i = 0; i < 20; i++) decide({ account: 'flood|er%' }); // 3 allowed, 17 refused
    for (let i = 0; i < 5; i++) decide({ account: 'small' }); // 2 refused
    for (let i = 0; i < 3; i++) decide({ account: 'x', contact: 'c9', kind: 'reply' }); // replies drops 2
    const top = rec.topRefused(10);
    expect(top[0]).toMatchObject({ rule: 'per-account', key: { account: 'flood|er%' }, count: 17, error: 0 });
    expect(top.map((t) => t.key)).toEqual([{ account: 'flood|er%' }, { account: 'small' }, { contact: 'c9' }]);
    expect(rec.topRefused(10, 'replies')).toMatchObject([{ rule: 'replies', count: 2 }]);
    expect(rec.refusingRules().sort()).toEqual(['per-account', 'replies']);
    expect(rec.topRefused(1, 'no-such-rule')).toEqual([]);
  });

  it('hands each tick its non-zero counts to the exporters, once', () => {
    const { clock, rec, decide } = setup();
    const seen: { rule: string; counts: number[] }[][] = [];
    rec.onTick((_now, ticks) => seen.push(ticks.map((t) => ({ rule: t.rule, counts: [...t.counts] }))));
    for (let i = 0; i < 4; i++) decide({ account: 'acme' });
    rec.tick(clock.now());
    rec.tick(clock.now() + 1000);
    expect(seen).toEqual([[{ rule: 'per-account', counts: [3, 1, 0, 1, 0] }], []]);
  });

  it('keeps the last reloads, newest first, at most 20', () => {
    const { rec } = setup();
    for (let i = 0; i < 25; i++) rec.reload(i % 2 === 0, { who: 'admin', trigger: 'api', rules: i });
    const r = rec.recentReloads();
    expect(r.length).toBe(20);
    expect(r[0]).toMatchObject({ ok: true, rules: 24, who: 'admin' });
  });
});

describe('tiered series', () => {
  it('keeps each tier for its span and reads stale slots as zero', () => {
    const s = new TieredSeries();
    const c = new Float64Array(N_FIELDS).fill(1);
    const t0 = 1_000_000_000_000;
    s.add(t0, c);
    s.add(t0 + 1000, c);
    expect(s.read(1000, t0 + 1000, 3).values[0]).toEqual([0, 1, 1]);
    // Both fall in one 10 s slot.
    const ten = s.read(10_000, t0 + 1000, 2);
    expect(ten.values[0].reduce((a, b) => a + b)).toBe(2);
    // 15 minutes later the 1 s ring has wrapped: the old slots read as 0, not as the new ones.
    const later = t0 + (TIERS[0].slots + 1) * 1000;
    s.add(later, c);
    const r = s.read(1000, later, TIERS[0].slots);
    expect(r.values[0].reduce((a, b) => a + b)).toBe(1);
    expect(s.read(60_000, later, 20).values[0].reduce((a, b) => a + b)).toBe(3);
  });
});

describe('latency histogram', () => {
  it('puts a value in the bucket whose upper edge is the first at or above it', () => {
    for (const ms of [0.001, 0.002, 0.0021, 0.05, 0.3, 7, 999, 5000]) {
      const i = bucketOf(ms);
      expect(ms <= bucketEdgeMs(i) || i === 40).toBe(true);
      if (i > 0) expect(ms > bucketEdgeMs(i - 1) * 0.999999).toBe(true);
    }
  });

  it('reads percentiles over the last minute of ticks', () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 990; i++) h.add(0.05);
    for (let i = 0; i < 10; i++) h.add(20);
    h.tick();
    const s = h.summary();
    expect(s.count).toBe(1000);
    expect(s.p50Ms).toBeGreaterThanOrEqual(0.05);
    expect(s.p50Ms).toBeLessThan(0.05 * 1.4);
    expect(s.p999Ms).toBeGreaterThanOrEqual(20);
    expect(s.p999Ms).toBeLessThan(20 * 1.4);
    // A minute of quiet ticks later, the window is empty.
    for (let i = 0; i < 61; i++) h.tick();
    expect(h.summary()).toMatchObject({ count: 0, p50Ms: null });
  });
});
