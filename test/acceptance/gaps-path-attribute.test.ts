/**
 * The `path` subject attribute is the path as routes match it. Routes match whatever the case,
 * with percent-escapes decoded and a trailing `/` ignored, because Express (by default) and many
 * upstreams serve those spellings with one handler; `path` kept the case sent, so a rule keyed by
 * `path`, or matching it, was passed by `/PA/LOGIN` where it bound `/pa/login`: the app served the
 * login all the same. Through the gateway (in front of an Express app) and the Express middleware.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/gateway/index.js';
import { Sluice } from '../../src/index.js';
import { sluice } from '../../src/middleware/express.js';
import { send } from './support.js';

const policy = {
  version: 1,
  rules: [
    // an owner who limits by path, not by route
    { name: 'login-attempts', match: { path: '/pa/login' }, key: ['ip'], limit: '3/1m', algorithm: 'fixed-window' },
    { name: 'per-report', match: { method: 'GET', path: '/reports/*' }, key: ['path'], limit: '1/1m', algorithm: 'fixed-window' },
  ],
};

const closers: (() => Promise<unknown>)[] = [];
let gateway: Gateway;
let direct: string;
const served: string[] = [];

function app() {
  const a = express();
  a.post('/pa/login', (req, res) => {
    served.push(req.path);
    res.status(401).json({ ok: false });
  });
  a.get('/reports/:id', (req, res) => {
    served.push(req.path);
    res.json({ id: req.params.id });
  });
  return a;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => server.close(r)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  const upstream = await listen(createServer(app()));
  const engine = await Sluice.open({ policy, store: 'memory' });
  closers.push(() => engine.close());
  gateway = await startGateway({ sluice: engine, upstream, port: 0, host: '127.0.0.1' });
  closers.push(() => gateway.close());
  const limited = express();
  limited.use(sluice({ sluice: await Sluice.open({ policy, store: 'memory' }) }));
  limited.use(app());
  direct = await listen(createServer(limited));
});
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

describe.each([
  ['gateway', () => gateway.url],
  ['express middleware', () => direct],
])('through the %s', (_door, base) => {
  it('a rule matching `path: /pa/login` binds /PA/LOGIN, /Pa/Login/ and /pa/%6Cogin too', async () => {
    const spellings = ['/pa/login', '/PA/LOGIN', '/Pa/Login/', '/pa/%6Cogin'];
    const statuses = [];
    for (const p of [...spellings, '/pa/login']) statuses.push((await send(base() + p, { method: 'POST' })).status);
    // 3 attempts a minute, whatever the spelling: the 4th and 5th are refused
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });

  it('a rule keyed by `path` counts one bucket for every spelling of a path', async () => {
    const id = base() === gateway.url ? 'gw' : 'mw';
    expect((await send(`${base()}/reports/r-${id}`)).status).toBe(200);
    for (const p of [`/REPORTS/R-${id.toUpperCase()}`, `/Reports/r-${id}/`, `/reports/%72-${id}`]) {
      const r = await send(base() + p);
      expect(r.status, p).toBe(429);
    }
  });
});
