import { describe, expect, it } from 'vitest';
import { createClient, type ClientEvent } from '../../src/client/index.js';
import { algorithms, fastestAdmissions, type AlgorithmName } from '../../src/algorithms/index.js';
import { policyItem, rateLimitHeaders } from '../../src/headers/ratelimit-headers.js';
import { FakeClock } from './support/fake-clock.js';
import { fakeFetch, respond } from './support/fake-fetch.js';

const LIMIT = 5;
const WINDOW_MS = 2000;
const CALLS = 20;

/**
 * A server deciding with the real algorithm and answering the headers Sluice renders, on the
 * fake clock (answers take no time). Returns its admitted send times and its 429 count.
 */
function server(clock: FakeClock, algorithm: AlgorithmName, behindMs = 0) {
  const alg = algorithms[algorithm];
  const params = { limit: LIMIT, windowMs: WINDOW_MS };
  const rule = { name: 'api', shadow: false, params, policyItem: policyItem('api', LIMIT, WINDOW_MS) };
  let state: readonly number[] | null = null;
  const admitted: number[] = [];
  let refused = 0;
  const handler = () => {
    const now = clock.now() - behindMs;
    const r = alg.step(state, now, 1, params, 'take');
    if (r.allowed) {
      state = r.state;
      admitted.push(now);
    } else refused++;
    const result = { limit: LIMIT, windowMs: WINDOW_MS, remaining: r.remaining, resetMs: r.resetMs };
    const headers = rateLimitHeaders({ allowed: r.allowed, retryAfterMs: r.retryAfterMs, ...result }, [rule], [result], false);
    return respond(r.allowed ? 200 : 429, headers, 'ok');
  };
  return { handler, admitted, refused: () => refused };
}

/** The fastest a lone caller could be admitted CALLS times from `t0`. */
const oracleEnd = (algorithm: AlgorithmName, t0: number): number => fastestAdmissions(algorithms[algorithm], { limit: LIMIT, windowMs: WINDOW_MS }, t0, CALLS);

describe('pacing against a sliding-window counter (two weighted windows)', () => {
  // Window phases: a start on a window boundary, a quarter in, and just before the next one.
  for (const phase of [0, 500, 1990]) {
    it(`sends ${CALLS} calls without a 429 and near the fastest the counter admits (start ${phase} ms into a window)`, async () => {
      const clock = new FakeClock(1_700_000_000_000 + phase);
      const t0 = clock.now();
      const srv = server(clock, 'sliding-window');
      const { fetch } = fakeFetch(clock, srv.handler);
      const events: ClientEvent[] = [];
      const client = createClient({ clock, fetch, random: () => 0.5, onEvent: (e) => events.push(e) });
      for (let i = 0; i < CALLS; i++) {
        const res = await clock.run(client.fetch('http://127.0.0.1:1/items'));
        expect(res.status).toBe(200);
      }
      expect(srv.refused()).toBe(0);
      expect(events.filter((e) => e.type === 'retry')).toEqual([]);
      const took = clock.now() - t0;
      const best = oracleEnd('sliding-window', t0) - t0;
      // Within 10% of the oracle (the client waits a couple of ms of slack per unit).
      expect(took).toBeLessThanOrEqual(best * 1.1 + 50);
    });
  }

  it('without a 429 when the server decides on a clock 20 ms behind the client', async () => {
    const clock = new FakeClock(1_700_000_000_300);
    const t0 = clock.now();
    const srv = server(clock, 'sliding-window', 20);
    const { fetch } = fakeFetch(clock, srv.handler);
    const client = createClient({ clock, fetch });
    for (let i = 0; i < CALLS; i++) await clock.run(client.fetch('http://127.0.0.1:1/items'));
    expect(srv.refused()).toBe(0);
    expect(clock.now() - t0).toBeLessThanOrEqual((oracleEnd('sliding-window', t0) - t0) * 1.1 + 50);
  });

  it('still paces a sliding log by its oldest send (a reset of at most one window)', async () => {
    const clock = new FakeClock(1_700_000_000_300);
    const t0 = clock.now();
    const srv = server(clock, 'sliding-log');
    const { fetch } = fakeFetch(clock, srv.handler);
    const client = createClient({ clock, fetch });
    for (let i = 0; i < CALLS; i++) await clock.run(client.fetch('http://127.0.0.1:1/items'));
    expect(srv.refused()).toBe(0);
    expect(clock.now() - t0).toBeLessThanOrEqual((oracleEnd('sliding-log', t0) - t0) * 1.1 + 50);
  });

  it('waits for the reset when the counter is full with sends that are not its own', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const srv = server(clock, 'sliding-window');
    const { fetch, calls } = fakeFetch(clock, srv.handler);
    // Another client took 4 of the 5 units at the start of the window.
    await clock.run(Promise.all(Array.from({ length: 4 }, () => srv.handler())));
    const client = createClient({ clock, fetch });
    await clock.run(client.fetch('http://127.0.0.1:1/items'));
    await clock.run(client.fetch('http://127.0.0.1:1/items'));
    // Its own single send would leave room at once; it waits for what the server said instead, without a 429.
    expect(calls.length).toBe(2);
    expect(srv.refused()).toBe(0);
    expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(2000);
  });
});

describe('fastestAdmissions (the oracle above)', () => {
  const t0 = 1_700_000_000_000; // on a window boundary
  const params = { limit: LIMIT, windowMs: WINDOW_MS };
  it('a fixed window: the limit at once, the next at the next window', () => {
    expect(fastestAdmissions(algorithms['fixed-window'], params, t0, 5) - t0).toBe(0);
    expect(fastestAdmissions(algorithms.gcra, { limit: 0, windowMs: 2000 }, t0, 1)).toBe(Infinity); // never admitted: no endless loop
    expect(fastestAdmissions(algorithms['fixed-window'], params, t0, 6) - t0).toBe(2000);
  });
  it('a sliding-window counter: 5 at once, then 4 a window (the previous window weighs on each)', () => {
    // Window 2: 2400, 2800, 3200, 3600; window 3: 4000, 4500, 5000, 5500; …; the 20th at 9000.
    expect(fastestAdmissions(algorithms['sliding-window'], params, t0, 6) - t0).toBe(2400);
    expect(fastestAdmissions(algorithms['sliding-window'], params, t0, 10) - t0).toBe(4000);
    expect(fastestAdmissions(algorithms['sliding-window'], params, t0, 20) - t0).toBe(9000);
  });
});
