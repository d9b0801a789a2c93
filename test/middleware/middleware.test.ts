import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { sluice as expressSluice } from '../../src/middleware/express.js';
import { sluice as fastifySluice } from '../../src/middleware/fastify.js';
import { sluice as honoSluice } from '../../src/middleware/hono.js';
import { seedScenarios, type Target } from '../gateway/scenarios.js';
import { apiAnswer, fakeClock, openSeedSluice } from '../gateway/support.js';

type Hits = Map<string, number>;
const hit = (hits: Hits, path: string) => hits.set(path, (hits.get(path) ?? 0) + 1);

function listen(server: Server): Promise<string> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
}

seedScenarios('express middleware', async (subject) => {
  const clock = fakeClock();
  const hits: Hits = new Map();
  const app = express();
  app.use(expressSluice({ sluice: openSeedSluice(clock.now), subject }));
  // the app's own body parsing: JSON through body-parser, everything else raw
  app.use(express.json({ limit: '100mb' }));
  app.use(express.raw({ type: () => true, limit: '100mb' }));
  app.all('/{*any}', (req, res) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body === undefined ? '' : JSON.stringify(req.body));
    hit(hits, req.path);
    const a = apiAnswer(req.method, req.path, req.headers, body);
    res.status(a.status).type(a.type).send(a.body);
  });
  const server = createServer(app);
  const url = await listen(server);
  return { url, clock, hits: (p) => hits.get(p) ?? 0, close: () => closeServer(server) } satisfies Target;
});

seedScenarios('fastify plugin', async (subject) => {
  const clock = fakeClock();
  const hits: Hits = new Map();
  const app = Fastify({ bodyLimit: 100 * 1024 * 1024 });
  await app.register(fastifySluice, { sluice: openSeedSluice(clock.now), subject });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.all('/*', async (req, reply) => {
    const path = req.url.split('?')[0];
    hit(hits, path);
    const a = apiAnswer(req.method, path, req.headers, (req.body as Buffer | undefined) ?? Buffer.alloc(0));
    return reply.code(a.status).type(a.type).send(a.body);
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, clock, hits: (p) => hits.get(p) ?? 0, close: () => app.close() } satisfies Target;
});

seedScenarios('hono middleware', async (subject) => {
  const clock = fakeClock();
  const hits: Hits = new Map();
  const app = new Hono();
  app.use('*', honoSluice({ sluice: openSeedSluice(clock.now), subject }));
  app.all('*', async (c) => {
    const body = Buffer.from(await c.req.arrayBuffer());
    hit(hits, c.req.path);
    const a = apiAnswer(c.req.method, c.req.path, Object.fromEntries(c.req.raw.headers), body);
    return c.body(typeof a.body === 'string' ? a.body : new Uint8Array(a.body), a.status as 200, { 'content-type': a.type });
  });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  await new Promise<void>((r) => (server.listening ? r() : server.once('listening', () => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, clock, hits: (p) => hits.get(p) ?? 0, close: () => closeServer(server) } satisfies Target;
});

describe('middleware: policy file with a subject section', () => {
  it('reads `subject:` from the policy YAML and reports policy errors at their true line', async () => {
    const yaml = [
      'version: 1',
      'subject:',
      '  headers: { x-account-id: account }',
      'rules:',
      '  - name: per-account',
      '    key: [account]',
      '    limit: 1/1m',
    ].join('\n');
    const app = express();
    const mw = expressSluice({ policy: yaml });
    app.use(mw);
    app.get('/', (_req, res) => void res.send('ok'));
    const server = createServer(app);
    const url = await listen(server);
    try {
      expect((await request(url, { headers: { 'x-account-id': 'a' } })).statusCode).toBe(200);
      expect((await request(url, { headers: { 'x-account-id': 'a' } })).statusCode).toBe(429);
      expect((await request(url, { headers: { 'x-account-id': 'b' } })).statusCode).toBe(200);
    } finally {
      await closeServer(server);
    }
    const broken = yaml.replace('limit: 1/1m', 'limit: 1/1 fortnight');
    await expect(expressSluice({ policy: broken }).ready).rejects.toThrow(/:7:\d+: rules\[0\]\.limit/);
  });
});
