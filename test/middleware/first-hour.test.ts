import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { sluice as expressSluice } from '../../src/middleware/express.js';
import { sluice as fastifySluice } from '../../src/middleware/fastify.js';
import { sluice as honoSluice } from '../../src/middleware/hono.js';
import { startGateway } from '../../src/gateway/index.js';
import { ConfigError } from '../../src/policy/index.js';

/** What a newcomer meets first: a missing secret, opaque tokens, keyless requests — always a JSON answer, never a stack. */

const ENV = 'SLUICE_TEST_JWT_SECRET_FIRST_HOUR';
const SECRET = 'a-test-secret-of-32-characters!!';
const policy = (jwt: string) => `version: 1
routes:
  - { method: GET, path: /v1/recordings/:id/audio, api: Get Recording Audio }
  - { method: GET, path: /v1/queues, api: Queue Size }
subject:
  headers: { x-tenant-id: tenant }
  jwt: ${jwt}
rules:
  - { name: per-tenant, match: { api: Get Recording Audio }, key: [tenant], limit: 5/1m }
  - { name: per-user, match: { api: Queue Size }, key: [user], limit: 5/1m }
`;
const withEnvSecret = policy(`{ claims: { sub: user }, secret_env: ${ENV} }`);
const withSecret = policy(`{ claims: { sub: user }, secret: "${SECRET}" }`);

function jwt(payload: object, secret = SECRET): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

function listen(server: Server): Promise<string> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

async function get(url: string, headers: Record<string, string> = {}) {
  const r = await request(url, { headers });
  const text = await r.body.text();
  return { status: r.statusCode, type: String(r.headers['content-type']), text, json: () => JSON.parse(text) };
}

describe('a JWT secret that is not set', () => {
  beforeAll(() => {
    delete process.env[ENV];
  });

  it('express answers 500 with the JSON error body (no HTML stack page) and logs one line at startup', async () => {
    const logged: string[] = [];
    const app = express();
    const mw = expressSluice({ policy: withEnvSecret, onError: (e) => logged.push((e as Error).message) });
    app.use(mw);
    app.get('/{*any}', (_req, res) => res.send('app'));
    const server = createServer(app);
    const url = await listen(server);
    await mw.ready.catch(() => undefined);
    const r = await get(`${url}/v1/queues`);
    server.close();
    expect(r.status).toBe(500);
    expect(r.type).toMatch(/application\/json/);
    expect(r.json().error.code).toBe('rate_limiter_unavailable');
    expect(r.text).not.toMatch(/at |<html|Error:/);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(new RegExp(`${ENV} is not set`));
    expect(logged[0]).not.toMatch(/\n/);
  });

  it('hono answers 500 with the JSON error body', async () => {
    const app = new Hono();
    app.use('*', honoSluice({ policy: withEnvSecret, onError: () => undefined }));
    app.get('*', (c) => c.text('app'));
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as unknown as Server;
    await new Promise((r) => server.once('listening', r));
    const r = await get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/queues`);
    server.close();
    expect(r.status).toBe(500);
    expect(r.json().error.code).toBe('rate_limiter_unavailable');
  });

  it('fastify and the gateway refuse to start with a one-line ConfigError naming the variable', async () => {
    const app = Fastify();
    const registered = app.register(fastifySluice, { policy: withEnvSecret });
    await expect(registered.ready()).rejects.toThrow(ConfigError);
    await expect(startGateway({ policy: withEnvSecret, upstream: 'http://127.0.0.1:9' })).rejects.toSatisfy(
      (e: Error) => e instanceof ConfigError && e.message.includes(`${ENV} is not set`) && !e.message.includes('\n'),
    );
  });
});

describe('bearer tokens and keyless requests through the gateway', () => {
  let upstream: Server;
  let gw: Awaited<ReturnType<typeof startGateway>>;
  beforeAll(async () => {
    upstream = createServer((_q, s) => s.end('ok'));
    const up = await listen(upstream);
    gw = await startGateway({ policy: withSecret, upstream: up, port: 0 });
  });
  afterAll(async () => {
    await gw.close();
    upstream.close();
  });

  it("leaves an opaque bearer token (the app's own) to the app, and refuses a JWT with a bad signature", async () => {
    const opaque = await get(`${gw.url}/v1/recordings/r1/audio`, { 'x-tenant-id': 'acme', authorization: 'Bearer sk_live_opaque_token_123' });
    expect(opaque.status).toBe(200);
    const forged = await get(`${gw.url}/v1/queues`, { authorization: `Bearer ${jwt({ sub: 'maria' }, 'another-secret-of-32-characters!')}` });
    expect(forged.status).toBe(401);
    expect(forged.json().error.code).toBe('invalid_token');
    const good = await get(`${gw.url}/v1/queues`, { authorization: `Bearer ${jwt({ sub: 'maria' })}` });
    expect(good.status).toBe(200);
  });

  it('refuses a request a rule matches but that lacks its key: 400 for a header, 401 for a token claim', async () => {
    const noTenant = await get(`${gw.url}/v1/recordings/r1/audio`);
    expect(noTenant.status).toBe(400);
    expect(noTenant.json().error).toMatchObject({ code: 'missing_key_attribute', rule: 'per-tenant', missing: ['tenant'] });
    const noUser = await get(`${gw.url}/v1/queues`, { authorization: 'Bearer opaque' });
    expect(noUser.status).toBe(401);
    expect(noUser.json().error).toMatchObject({ code: 'unauthenticated', rule: 'per-user', missing: ['user'] });
    // a path no rule is about passes untouched
    expect((await get(`${gw.url}/health`)).status).toBe(200);
  });
});
