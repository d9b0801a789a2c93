/**
 * The seed rules are bound to routes (`routes:` in the policy, as the README writes them), and
 * the app behind the Express middleware serves more spellings of a route than the one written:
 * Express routes paths case-insensitively by default, and answers HEAD with the GET handler.
 * Each spelling the app serves must be limited as the route: before, `POST /PA/LOGIN` guessed
 * passwords past the 15-minute lockout, and `HEAD` pulled recordings past 1 per 3 s. Fastify
 * and Hono decode `%6C` to `l` before routing, and every Node server routes a request line's
 * `/pa/login#x` as /pa/login: those were free attempts too.
 */
import { createServer, request, type Server } from 'node:http';
import { serve as honoServe } from '@hono/node-server';
import Fastify, { type FastifyInstance } from 'fastify';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sluice } from '../../src/middleware/express.js';
import { sluice as fastifySluice } from '../../src/middleware/fastify.js';
import { sluice as honoSluice } from '../../src/middleware/hono.js';
import { Sluice } from '../../src/index.js';
import { recorded, send, SEED_POLICY } from './support.js';

let server: Server;
let base: string;
let expressEngine: Sluice;
const handled: string[] = [];

beforeAll(async () => {
  expressEngine = await Sluice.open({ policy: SEED_POLICY, store: 'memory' });
  const app = express();
  app.use(sluice({ sluice: expressEngine }));
  app.post('/pa/login', (req, res) => {
    handled.push(`${req.method} ${req.path}`);
    res.status(401).json({ ok: false });
  });
  app.get('/ccaas/recordings/:id/audio', (req, res) => {
    handled.push(`${req.method} ${req.path}`);
    res.type('audio/wav').send('audio');
  });
  server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await expressEngine.close();
});

describe('spellings of a route that the app serves are limited as the route', () => {
  it('login: after 4 failures, POST /PA/Login is locked out like /pa/login', async () => {
    for (let i = 0; i < 4; i++) expect((await send(`${base}/pa/login`, { method: 'POST', headers: { 'x-user': 'case' } })).status).toBe(401);
    await recorded(expressEngine, { product: 'picky-assist', api: 'Login', user: 'case' }, 'login-lockout', 4);
    expect((await send(`${base}/pa/login`, { method: 'POST', headers: { 'x-user': 'case' } })).status).toBe(429);
    for (const path of ['/PA/LOGIN', '/Pa/Login', '/pa/Login/']) {
      const r = await send(base + path, { method: 'POST', headers: { 'x-user': 'case' } });
      expect(r.status, path).toBe(429);
    }
  });

  it('recordings: HEAD is a GET to the app (and to the page: a recording request), so it shares the 1 per 3 s', async () => {
    expect((await send(`${base}/ccaas/recordings/r1/audio`, { headers: { 'x-tenant-id': 'head' } })).status).toBe(200);
    const before = handled.length;
    const head = await send(`${base}/ccaas/recordings/r1/audio`, { method: 'HEAD', headers: { 'x-tenant-id': 'head' } });
    expect(head.status).toBe(429);
    expect(handled.length).toBe(before);
    const upper = await send(`${base}/CCAAS/Recordings/r1/AUDIO`, { headers: { 'x-tenant-id': 'head' } });
    expect(upper.status).toBe(429);
  });
});

/** A request line as a client may write it (fetch would normalise the path). */
function rawPost(port: number, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('percent-encoded and fragment spellings of a login route', () => {
  let fastify: FastifyInstance;
  let hono: Server;
  const engines: Record<string, Sluice> = {};
  beforeAll(async () => {
    engines.express = expressEngine;
    engines.fastify = await Sluice.open({ policy: SEED_POLICY, store: 'memory' });
    engines.hono = await Sluice.open({ policy: SEED_POLICY, store: 'memory' });
    fastify = Fastify();
    await fastify.register(fastifySluice, { sluice: engines.fastify });
    fastify.post('/pa/login', async (_req, reply) => reply.code(401).send({ ok: false }));
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const app = new Hono();
    app.use('*', honoSluice({ sluice: engines.hono }));
    app.post('/pa/login', (c) => c.json({ ok: false }, 401));
    hono = honoServe({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    await new Promise<void>((r) => (hono.listening ? r() : hono.once('listening', () => r())));
  });
  afterAll(async () => {
    await fastify?.close();
    await new Promise((r) => hono?.close(r));
    await engines.fastify?.close();
    await engines.hono?.close();
  });

  for (const door of ['express', 'fastify', 'hono'] as const) {
    it(`${door}: once locked, /pa/%6Cogin and /pa/login#x are locked too`, async () => {
      const port = door === 'express' ? (server.address() as AddressInfo).port : door === 'fastify' ? (fastify.server.address() as AddressInfo).port : (hono.address() as AddressInfo).port;
      const user = { 'x-user': `enc-${door}` };
      for (let i = 0; i < 4; i++) expect(await rawPost(port, '/pa/login', user)).toBe(401);
      await recorded(engines[door], { product: 'picky-assist', api: 'Login', user: user['x-user'] }, 'login-lockout', 4);
      expect(await rawPost(port, '/pa/login', user)).toBe(429);
      for (const path of ['/pa/%6Cogin', '/pa/login#x', '/pa/log%69n?x=1']) expect(await rawPost(port, path, user), path).toBe(429);
    });
  }
});
