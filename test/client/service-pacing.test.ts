/**
 * sluice/client against the real Sluice gateway over real sockets (127.0.0.1): a limit of
 * 5 per 2 s on the default rolling window (a sliding log, which answers `t` as the time
 * until it clears whole). The client must use the rate the server allows — sending what
 * remains at once, then each call as soon as its own oldest request leaves the window —
 * with no 429 reaching the caller. The rate bound has generous slack for a loaded machine:
 * ideally 20 calls take ~6 s (5 at once, then 5 every 2 s); the bound allows 10.7 s (75% of the
 * allowed rate counted as calls over time), where spreading over `t` took twice as long.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type ClientEvent } from '../../src/client/index.js';
import { startGateway, type Gateway } from '../../src/gateway/index.js';

const LIMIT = 5;
const WINDOW_MS = 2000;
const CALLS = 20;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function limitedApi(): Promise<{ gw: Gateway; upstreamHits: () => number }> {
  let hits = 0;
  const upstream: Server = createServer((_req, res) => {
    hits++;
    res.end('ok');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const gw = await startGateway({ policy: { rules: [{ name: 'api', limit: `${LIMIT}/${WINDOW_MS / 1000}s` }] }, upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` });
  closers.push(async () => {
    await gw.close();
    await new Promise((r) => upstream.close(r));
  });
  return { gw, upstreamHits: () => hits };
}

describe('client pacing against the Sluice gateway', () => {
  for (const callers of [1, 4]) {
    it(`${callers} caller(s): ${CALLS} calls at ≥ 75% of the allowed rate, no 429 reaching the caller`, { timeout: 30_000 }, async () => {
      const { gw, upstreamHits } = await limitedApi();
      const events: ClientEvent[] = [];
      const client = createClient({ onEvent: (e) => events.push(e) });
      const statuses: number[] = [];
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: callers }, async () => {
          while (next < CALLS) {
            next++;
            const res = await client.fetch(`${gw.url}/items`);
            statuses.push(res.status);
            await res.text();
          }
        }),
      );
      const secs = (performance.now() - t0) / 1000;
      expect(statuses).toEqual(new Array(CALLS).fill(200));
      expect(upstreamHits()).toBe(CALLS);
      expect(events.filter((e) => e.type === 'giveup')).toEqual([]);
      // Few refusals on the way (a request's trip may differ from another's by more than the slack).
      expect(events.filter((e) => e.type === 'retry').length).toBeLessThanOrEqual(3);
      const allowedPerS = LIMIT / (WINDOW_MS / 1000);
      expect(CALLS / secs).toBeGreaterThanOrEqual(0.75 * allowedPerS);
    });
  }
});
