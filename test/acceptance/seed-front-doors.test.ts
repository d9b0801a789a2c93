/**
 * The seed rules through the front doors an API owner and an API caller use: the Express,
 * Fastify and Hono middleware and the gateway (subjects derived from routes, headers and the
 * socket's IP; failures and bytes recorded after the response), and the client SDK and the
 * pacer on the caller's side. One engine with a hand-driven clock serves every door, and the
 * client's and pacer's clocks sleep by moving that same clock: windows end to the millisecond,
 * with no real waiting.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve as honoServe } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, QuotaExceededError, RateLimitedError } from '../../src/client/index.js';
import { startGateway, type Gateway } from '../../src/gateway/index.js';
import { Sluice } from '../../src/index.js';
import { sluice as expressSluice } from '../../src/middleware/express.js';
import { sluice as fastifySluice } from '../../src/middleware/fastify.js';
import { sluice as honoSluice } from '../../src/middleware/hono.js';
import { createPacer } from '../../src/pacer/index.js';
import { manualClock, recorded, send, SEED_POLICY, SMARTASSIST_TEXT } from './support.js';

const clock = manualClock();
/** A client/pacer clock on the same time line: sleeping moves the engine's time. */
const sleeper = {
  now: clock.now,
  sleep: async (ms: number) => {
    clock.advance(Math.max(0, ms));
    await new Promise((r) => setImmediate(r));
  },
};

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => server.close(r)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Door {
  name: string;
  url: string;
  engine: Sluice;
}
const doors: Door[] = [];

beforeAll(async () => {
  for (const name of ['express', 'fastify', 'hono'] as const) {
    const engine = await Sluice.open({ policy: SEED_POLICY, store: 'memory', clock: clock.now });
    closers.push(() => engine.close());
    if (name === 'express') {
      const app = express();
      app.use(expressSluice({ sluice: engine }));
      app.post('/pa/login', (req, res) => res.status(req.headers['x-password'] === 'right' ? 200 : 401).json({ ok: false }));
      app.post('/pa/signup', (_req, res) => res.status(201).json({ ok: true }));
      app.get('/sa/queues/size', (_req, res) => res.json({ size: 3 }));
      app.post('/pa/connector/events', (_req, res) => res.json({ processed: true }));
      doors.push({ name, url: await listen(createServer(app)), engine });
    } else if (name === 'fastify') {
      const app = Fastify();
      await app.register(fastifySluice, { sluice: engine });
      app.post('/pa/login', async (req, reply) => reply.code(req.headers['x-password'] === 'right' ? 200 : 401).send({ ok: false }));
      app.post('/pa/signup', async (_req, reply) => reply.code(201).send({ ok: true }));
      app.get('/sa/queues/size', async () => ({ size: 3 }));
      await app.listen({ port: 0, host: '127.0.0.1' });
      closers.push(() => app.close());
      doors.push({ name, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, engine });
    } else {
      const app = new Hono();
      app.use('*', honoSluice({ sluice: engine }));
      app.post('/pa/login', (c) => c.json({ ok: false }, c.req.header('x-password') === 'right' ? 200 : 401));
      app.post('/pa/signup', (c) => c.json({ ok: true }, 201));
      app.get('/sa/queues/size', (c) => c.json({ size: 3 }));
      const server = honoServe({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
      await new Promise<void>((r) => (server.listening ? r() : server.once('listening', () => r())));
      closers.push(() => new Promise((r) => server.close(r)));
      doors.push({ name, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, engine });
    }
  }
});

describe.each(['express', 'fastify', 'hono'])('seed 002 and 000 through the %s middleware', (name) => {
  const url = () => doors.find((d) => d.name === name)!.url;

  it('login: 401s are recorded; after the 4th within 3 minutes, login answers 429 for 15 minutes', async () => {
    const user = `maria-${name}`;
    for (let i = 1; i <= 4; i++) {
      const r = await send(`${url()}/pa/login`, { method: 'POST', headers: { 'x-user': user } });
      expect(r.status, `attempt ${i}`).toBe(401);
      await recorded(doors.find((d) => d.name === name)!.engine, { product: 'picky-assist', api: 'Login', user }, 'login-lockout', i);
      clock.advance(30_000);
    }
    const locked = await send(`${url()}/pa/login`, { method: 'POST', headers: { 'x-user': user, 'x-password': 'right' } });
    expect(locked.status).toBe(429);
    expect(locked.body.error.rule).toBe('login-lockout');
    expect(locked.headers.get('retry-after')).toBe(String(15 * 60 - 30));
    clock.advance(15 * 60_000 - 30_000 - 1);
    expect((await send(`${url()}/pa/login`, { method: 'POST', headers: { 'x-user': user, 'x-password': 'right' } })).status).toBe(429);
    clock.advance(1);
    expect((await send(`${url()}/pa/login`, { method: 'POST', headers: { 'x-user': user, 'x-password': 'right' } })).status).toBe(200);
  });

  it('signup: 2 per IP address (the socket peer) per 8 hours, the 3rd refused', async () => {
    clock.advance(9 * 3_600_000); // every door shares 127.0.0.1: start after the previous door's window
    expect((await send(`${url()}/pa/signup`, { method: 'POST' })).status).toBe(201);
    expect((await send(`${url()}/pa/signup`, { method: 'POST' })).status).toBe(201);
    const r = await send(`${url()}/pa/signup`, { method: 'POST' });
    expect(r.status).toBe(429);
    expect(r.body.error.rule).toBe('signup-per-ip');
    // a spoofed X-Forwarded-For is not believed without trusted_proxies
    expect((await send(`${url()}/pa/signup`, { method: 'POST', headers: { 'x-forwarded-for': '198.51.100.9' } })).status).toBe(429);
  });

  it("the 61st call of a minute gets seed 000's text, byte for byte, with the RateLimit headers on every answer", async () => {
    const account = `acct-${name}`;
    for (let i = 0; i < 60; i++) {
      const ok = await send(`${url()}/sa/queues/size`, { headers: { 'x-account-id': account } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('ratelimit-policy')).toBe('"smartassist-account-per-minute";q=60;w=60');
    }
    const r = await send(`${url()}/sa/queues/size`, { headers: { 'x-account-id': account } });
    expect(r.status).toBe(429);
    expect(r.body.error.message).toBe(SMARTASSIST_TEXT);
    expect(r.headers.get('retry-after')).toBe('60');
    expect(r.headers.get('ratelimit')).toBe('"smartassist-account-per-minute";r=0;t=60');
  });

  it('a request without the account header is refused as the README says (400 missing_key_attribute), not let through', async () => {
    const r = await send(`${url()}/sa/queues/size`);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('missing_key_attribute');
  });
});

describe('drops and even pacing (express)', () => {
  const url = () => doors.find((d) => d.name === 'express')!.url;

  it('connector inbound events: 10 a minute processed, the 11th dropped: 202 {"dropped": true}, never reaching the app', async () => {
    for (let i = 0; i < 10; i++) {
      const r = await send(`${url()}/pa/connector/events`, { method: 'POST', headers: { 'x-account-id': 'conn' } });
      expect(r.body, `event ${i + 1}`).toEqual({ processed: true });
    }
    const r = await send(`${url()}/pa/connector/events`, { method: 'POST', headers: { 'x-account-id': 'conn' } });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ dropped: true, rule: 'connector-inbound' });
  });

  it('seed 000\'s best practice: a client spreading 120 calls evenly over 60/min sees no 429, and no minute holds more than 60', async () => {
    const client = createClient({ clock: sleeper, limit: { limit: 60, windowMs: 60_000 }, keyFor: () => 'even' });
    const at: number[] = [];
    for (let i = 0; i < 120; i++) {
      const r = await client.fetch(`${url()}/sa/queues/size`, { headers: { 'x-account-id': 'even' } });
      expect(r.status).toBe(200);
      await r.arrayBuffer();
      at.push(clock.t);
    }
    for (let i = 60; i < at.length; i++) expect(at[i] - at[i - 60]).toBeGreaterThanOrEqual(60_000);
  });
});

describe('the client SDK against a 15-minute login lockout (retries bounded by maxElapsedMs: 120 s)', () => {
  it('a call made while the key is held longer than the retry budget fails fast, it does not hang for 15 minutes', async () => {
    const url = doors.find((d) => d.name === 'express')!.url;
    const engine = doors.find((d) => d.name === 'express')!.engine;
    const user = 'client-locked';
    for (let i = 1; i <= 4; i++) {
      expect((await send(`${url}/pa/login`, { method: 'POST', headers: { 'x-user': user } })).status).toBe(401);
      await recorded(engine, { product: 'picky-assist', api: 'Login', user }, 'login-lockout', i);
    }
    const slept: number[] = [];
    const watching = { now: clock.now, sleep: (ms: number) => (slept.push(ms), sleeper.sleep(ms)) };
    const client = createClient({ clock: watching, keyFor: () => user, retry: { maxElapsedMs: 120_000 } });
    const first = await client.fetch(`${url}/pa/login`, { method: 'POST', headers: { 'x-user': user }, idempotencyKey: 'a1' }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(RateLimitedError);
    const second = await client.fetch(`${url}/pa/login`, { method: 'POST', headers: { 'x-user': user }, idempotencyKey: 'a2' }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(RateLimitedError);
    expect((second as RateLimitedError).retryAfterMs).toBeGreaterThan(120_000);
    expect(Math.max(0, ...slept), 'no wait past the retry budget').toBeLessThanOrEqual(120_000);
  });
});

describe('seed 003 through the gateway, and the client SDK calling it', () => {
  let gw: Gateway;
  let upstreamHits: string[];
  const audio = Buffer.alloc(1_000_000, 7); // each download is 1 MB

  beforeAll(async () => {
    upstreamHits = [];
    let reportPolls = 0;
    const upstream = createServer((req: IncomingMessage, res) => {
      upstreamHits.push(req.url!);
      if (req.url!.startsWith('/ccaas/reports')) {
        // "202 Accepted: the report timed out, it is cached and available on retry with the same parameters"
        if (++reportPolls < 3) return void res.writeHead(202, { 'retry-after': '2' }).end();
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"rows":[]}');
      }
      res.writeHead(200, { 'content-type': 'audio/wav' }).end(audio);
    });
    const upstreamUrl = await listen(upstream);
    const engine = await Sluice.open({ policy: SEED_POLICY, store: 'memory', clock: clock.now });
    closers.push(() => engine.close());
    gw = await startGateway({ sluice: engine, upstream: upstreamUrl, port: 0, host: '127.0.0.1' });
    closers.push(() => gw.close(100));
  });

  it('the client paces recording pulls to one per 3 s per tenant from what the gateway says: no 429 reaches the caller', async () => {
    const client = createClient({ clock: sleeper, keyFor: (r) => r.headers.get('x-tenant-id') ?? 'none' });
    const admittedAt: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await client.fetch(`${gw.url}/ccaas/recordings/r${i}/audio`, { headers: { 'x-tenant-id': 'paced' } });
      expect(r.status).toBe(200);
      expect((await r.arrayBuffer()).byteLength).toBe(audio.length);
      admittedAt.push(clock.t);
    }
    for (let i = 1; i < admittedAt.length; i++) expect(admittedAt[i] - admittedAt[i - 1]).toBeGreaterThanOrEqual(3000);
  });

  it('20 concurrent pulls of one tenant through the gateway: one reaches the upstream, 19 are 429', async () => {
    const before = upstreamHits.length;
    const answers = await Promise.all(Array.from({ length: 20 }, () => send(`${gw.url}/ccaas/recordings/r/audio`, { headers: { 'x-tenant-id': 'burst' } })));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(19);
    expect(upstreamHits.length - before).toBe(1);
  });

  it('509 once the tenant\'s 5-day egress is used: QuotaExceededError, and the client fails fast without calling again', async () => {
    // "small": no licensed_agents figure, so 1 × 2 GB; 1,999 downloads of 1 MB leave one MB
    const subject = { product: 'ccaas', api: 'Get Recording Audio', tenant: 'small' };
    await gw.sluice.record(subject, { bytes: 2e9 - audio.length });
    const client = createClient({ clock: sleeper, keyFor: (r) => r.headers.get('x-tenant-id') ?? 'none' });
    const last = await client.fetch(`${gw.url}/ccaas/recordings/last/audio`, { headers: { 'x-tenant-id': 'small' } });
    expect(last.status).toBe(200);
    await last.arrayBuffer();
    await recorded(gw.sluice, subject, 'recording-egress-5d', 2e9);
    clock.advance(3000);
    const err = await client.fetch(`${gw.url}/ccaas/recordings/next/audio`, { headers: { 'x-tenant-id': 'small' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuotaExceededError);
    expect((err as QuotaExceededError).status).toBe(509);
    const hits = upstreamHits.length;
    const again = await client.fetch(`${gw.url}/ccaas/recordings/next/audio`, { headers: { 'x-tenant-id': 'small' } }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(QuotaExceededError);
    expect(upstreamHits.length).toBe(hits);
    // the answer on the wire
    clock.advance(3000);
    const raw = await send(`${gw.url}/ccaas/recordings/next/audio`, { headers: { 'x-tenant-id': 'small' } });
    expect(raw.status).toBe(509);
    expect(raw.body.error).toMatchObject({ code: 'bandwidth_limit_exceeded', message: 'Bandwidth Limit Exceeded', rule: 'recording-egress-5d' });
  });

  it('a 202 (report cached, retry with the same parameters) is polled until the report is there', async () => {
    const client = createClient({ clock: sleeper });
    const r = await client.fetch(`${gw.url}/ccaas/reports/historical?from=2026-11-01`, { method: 'POST', body: '{"x":1}', idempotencyKey: 'k1' });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ rows: [] });
  });
});

describe('the caller\'s side: outbound pacing at the page\'s rates', () => {
  it('connector HTTP actions at 3 per minute: never more than 3 in any 60 s', async () => {
    const pacer = createPacer({ rate: '3/1m', clock: sleeper });
    const startedAt: number[] = [];
    const jobs = Array.from({ length: 7 }, () => pacer.schedule('connector-1', async () => void startedAt.push(clock.t)));
    await Promise.all(jobs);
    await pacer.stop({ drain: true });
    expect(startedAt).toHaveLength(7);
    for (let i = 3; i < startedAt.length; i++) expect(startedAt[i] - startedAt[i - 3], `job ${i + 1}`).toBeGreaterThanOrEqual(60_000);
  });
});

describe('webhooks at a "Dynamic Limit": the adaptive pacer finds the receiver\'s speed', () => {
  it('against a receiver taking 5 per second, it settles near 5/s with a bounded share of 429s', async () => {
    const receiver = await Sluice.open({ policy: { version: 1, rules: [{ name: 'webhook', key: ['endpoint'], limit: '5/1s' }] }, store: 'memory', clock: clock.now });
    const pacer = createPacer({ rate: '50/s', adaptive: { min: '1/s', max: '50/s' }, clock: sleeper, concurrency: 1 });
    let ok = 0;
    let refused = 0;
    const jobs = Array.from({ length: 300 }, () =>
      pacer
        .schedule('hook', async () => {
          const d = await receiver.check({ endpoint: 'e' });
          if (d.allowed) ok++;
          else refused++;
          return new Response(null, { status: d.allowed ? 200 : 429, headers: d.allowed ? {} : { 'retry-after': '1' } });
        })
        .catch(() => undefined),
    );
    await Promise.all(jobs);
    await pacer.stop({ drain: true });
    await receiver.close();
    expect(ok + refused).toBe(300);
    expect(refused / 300).toBeLessThan(0.4);
    expect(pacer.rate('hook')).toBeGreaterThan(2);
    expect(pacer.rate('hook')).toBeLessThan(10);
  });
});

