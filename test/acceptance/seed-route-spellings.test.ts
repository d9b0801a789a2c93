/**
 * The seed rules are bound to routes (`routes:` in the policy, as the README writes them), and
 * the app behind the Express middleware serves more spellings of a route than the one written:
 * Express routes paths case-insensitively by default, and answers HEAD with the GET handler.
 * Each spelling the app serves must be limited as the route: before, `POST /PA/LOGIN` guessed
 * passwords past the 15-minute lockout, and `HEAD` pulled recordings past 1 per 3 s.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sluice } from '../../src/middleware/express.js';
import { send, SEED_POLICY } from './support.js';

let server: Server;
let base: string;
const handled: string[] = [];

beforeAll(async () => {
  const app = express();
  app.use(sluice({ policy: SEED_POLICY }));
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
afterAll(() => new Promise((r) => server.close(r)));

describe('spellings of a route that the app serves are limited as the route', () => {
  it('login: after 4 failures, POST /PA/Login is locked out like /pa/login', async () => {
    for (let i = 0; i < 4; i++) expect((await send(`${base}/pa/login`, { method: 'POST', headers: { 'x-user': 'case' } })).status).toBe(401);
    await new Promise((r) => setTimeout(r, 20)); // the last 401 is recorded after its response
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
