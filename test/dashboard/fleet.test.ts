import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { combine } from '../../src/dashboard/fleet.js';
import { RedisServer, warnIfNoRedis } from '../helpers/redis-server.js';
import { READ, start, stopAll, TOKENS } from '../server/support.js';

const POLICY = `
version: 1
rules:
  - name: per-account
    key: [account]
    limit: 5/1m
`;

describe('fleet view: summing instances', () => {
  it('aligns each instance on the second and sums counts and refused keys', () => {
    const now = 1_800_000_060_500;
    const t0 = Math.floor(now / 1000) * 1000 - 59_000;
    const ones = (n: number, at: number) => Array.from({ length: 60 }, (_, i) => (i === at ? n : 0));
    const view = combine(
      [
        { instance: 'a', at: now, t0, rules: { r: { allowed: ones(3, 59), refused: ones(1, 59), dropped: ones(0, 0) } }, top: [{ rule: 'r', key: { account: 'x' }, count: 4, error: 0 }] },
        // One second behind: its last second is the fleet's second to last.
        { instance: 'b', at: now - 1000, t0: t0 - 1000, rules: { r: { allowed: ones(2, 59), refused: ones(5, 59), dropped: ones(0, 0) } }, top: [{ rule: 'r', key: { account: 'x' }, count: 6, error: 1 }] },
      ],
      now,
    );
    expect(view.total.rules.r.allowed.slice(-2)).toEqual([2, 3]);
    expect(view.total.rules.r.refused.slice(-2)).toEqual([5, 1]);
    expect(view.top).toEqual([{ rule: 'r', key: { account: 'x' }, count: 10, instances: 2 }]);
    expect(view.instances.map((i) => i.lastMinute.r)).toEqual([
      { allowed: 3, refused: 1, dropped: 0 },
      { allowed: 2, refused: 5, dropped: 0 },
    ]);
  });
});

describe.skipIf(!warnIfNoRedis('dashboard fleet over Redis'))('fleet view over a shared Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await stopAll();
    await redis?.stop();
  });

  it("shows every instance's counts and their sum on any instance's dashboard", async () => {
    const a = await start({ policy: POLICY, store: redis.url, ...TOKENS });
    const b = await start({ policy: POLICY, store: redis.url, ...TOKENS });
    for (let i = 0; i < 4; i++) await a.post('/v1/check', { subject: { account: 'acme' } });
    for (let i = 0; i < 6; i++) await b.post('/v1/check', { subject: { account: 'acme' } }); // 1 admitted, 5 refused: the limit is shared
    let view: any;
    await expect
      .poll(
        async () => {
          view = (await a.get('/v1/dashboard/fleet', READ)).body;
          const t = view.total?.rules?.['per-account'];
          return t ? [view.instances.length, t.allowed.reduce((x: number, y: number) => x + y, 0), t.refused.reduce((x: number, y: number) => x + y, 0)] : [];
        },
        { timeout: 15_000, interval: 200 },
      )
      .toEqual([2, 5, 5]);
    expect(view.enabled).toBe(true);
    expect(view.instances.map((i: any) => i.lastMinute['per-account']).sort((x: any, y: any) => x.allowed - y.allowed)).toEqual([
      { allowed: 1, refused: 5, dropped: 0 },
      { allowed: 4, refused: 0, dropped: 0 },
    ]);
    expect(view.top[0]).toMatchObject({ rule: 'per-account', key: { account: 'acme' }, count: 5 });
    // The other instance sees the same fleet.
    expect((await b.get('/v1/dashboard/fleet', READ)).body.instances.length).toBe(2);
    // An instance that stops leaves the fleet.
    await b.close();
    await expect.poll(async () => (await a.get('/v1/dashboard/fleet', READ)).body.instances.length, { timeout: 15_000 }).toBe(1);
    expect((await a.get('/v1/dashboard/fleet')).status).toBe(401);
  });

  it('shows the store failing and the circuit breaker opening in store health', async () => {
    const own = await RedisServer.start();
    try {
      const s = await start({ policy: POLICY, store: own.url, ...TOKENS });
      expect((await s.get('/v1/dashboard/live?points=1', READ)).body.health).toMatchObject({ store: expect.stringMatching(/redis/), circuit: 'closed', storeErrors: 0 });
      await own.stop('SIGKILL');
      // Fail-open rules fall back to the local stand-in; after a few failures the breaker opens.
      await expect
        .poll(
          async () => {
            await s.post('/v1/check', { subject: { account: 'acme' } });
            const h = (await s.get('/v1/dashboard/live?points=1', READ)).body.health;
            return h.circuit === 'open' && h.storeErrors > 0 && h.fallbackDecisions > 0;
          },
          { timeout: 20_000, interval: 200 },
        )
        .toBe(true);
      await s.close();
    } finally {
      await own.stop();
    }
  });

  it('says the fleet view is off on a store that is not shared', async () => {
    const m = await start({ policy: POLICY, ...TOKENS });
    expect((await m.get('/v1/dashboard/fleet', READ)).body).toMatchObject({ enabled: false });
  });
});
