import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/gateway/index.js';
import { createAdminApi, type AdminApiOptions } from '../../src/server/index.js';
import { startUpstream, type Upstream } from './support.js';

/**
 * The admin API inside the gateway (`sluice gateway --admin-token …`), end to end over real
 * sockets: the service's admin routes over the gateway's engine — attributes (licensed_agents)
 * scale the gateway's limits at once, inspect and reset see the gateway's usage, a reload of the
 * policy file changes what the gateway enforces — on a port of its own (the gateway port then
 * forwards /v1/admin upstream like any path) or under /v1/admin on the gateway port (never forwarded).
 */

const dir = mkdtempSync(join(tmpdir(), 'sluice-gw-admin-'));
const policyFile = join(dir, 'policy.yaml');
const policy = (limit: string) => `version: 1
routes:
  - { method: GET, path: /v1/recordings/:id/audio, api: Get Recording Audio }
subject:
  headers: { x-tenant-id: tenant }
rules:
  - name: audio-per-tenant
    match: { api: Get Recording Audio }
    key: [tenant]
    limit: ${limit}
    scale: { attribute: licensed_agents, of: tenant, default: 1 }
`;
const ADMIN = 'gw-admin-token-1';
const READ = 'gw-read-token-1';
const log = pino({ level: 'silent' });
/** The gateway's admin option as the CLI composes it: the service's admin API over the gateway's engine. */
const adminApi = (o: Omit<AdminApiOptions, 'sluice' | 'log'>, port?: number) => ({ port, api: (sluice: AdminApiOptions['sluice']) => createAdminApi({ ...o, sluice, log }) });
let upstream: Upstream;

beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call(base: string, method: string, path: string, token?: string, body?: unknown) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, body: json, text };
}
const audio = (gw: Gateway, tenant: string) => fetch(`${gw.url}/v1/recordings/r1/audio`, { headers: { 'x-tenant-id': tenant } }).then(async (r) => (await r.arrayBuffer(), r.status));
const subject = (tenant: string) => ({ subject: { tenant, api: 'Get Recording Audio' } });

describe('the gateway serves the admin API on a port of its own', () => {
  let gw: Gateway;
  beforeAll(async () => {
    writeFileSync(policyFile, policy('1/1m'));
    gw = await startGateway({ policy: policyFile, upstream: upstream.url, store: 'memory', admin: adminApi({ adminToken: ADMIN, readToken: READ, policyFile }, 0) });
  });
  afterAll(() => gw.close(1000));

  it('needs a token; the read token may look, not change', async () => {
    expect(gw.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(gw.adminPort).not.toBe(gw.port);
    const anon = await call(gw.adminUrl!, 'GET', '/v1/admin/policy');
    expect(anon.status).toBe(401);
    expect(anon.body.error.code).toBe('unauthorized');
    const read = await call(gw.adminUrl!, 'GET', '/v1/admin/policy', READ);
    expect(read.status).toBe(200);
    expect(read.body.rules.map((r: { name: string }) => r.name)).toEqual(['audio-per-tenant']);
    const denied = await call(gw.adminUrl!, 'PUT', '/v1/admin/attributes/tenant/acme', READ, { licensed_agents: 3 });
    expect(denied.status).toBe(403);
    // Not an admin route on the admin port: the JSON 404, not the upstream.
    const other = await call(gw.adminUrl!, 'GET', '/v1/recordings/r1/audio');
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('not_found');
  });

  it('licensed_agents set through it scales the gateway’s limit; inspect sees the usage; reset forgets it', async () => {
    expect(await audio(gw, 'acme')).toBe(200);
    expect(await audio(gw, 'acme')).toBe(429);
    const set = await call(gw.adminUrl!, 'PUT', '/v1/admin/attributes/tenant/acme', ADMIN, { licensed_agents: 3 });
    expect(set.status).toBe(200);
    expect(set.body.effective).toEqual({ licensed_agents: 3 });
    expect(await audio(gw, 'acme')).toBe(200);
    expect(await audio(gw, 'acme')).toBe(200);
    expect(await audio(gw, 'acme')).toBe(429);
    const seen = await call(gw.adminUrl!, 'POST', '/v1/admin/inspect', READ, subject('acme'));
    expect(seen.status).toBe(200);
    expect(seen.body.rules[0]).toMatchObject({ rule: 'audio-per-tenant', limit: 3, used: 3, remaining: 0 });
    const reset = await call(gw.adminUrl!, 'POST', '/v1/admin/reset', ADMIN, subject('acme'));
    expect(reset.status).toBe(200);
    expect(await audio(gw, 'acme')).toBe(200);
  });

  it('a reload of the policy file changes what the gateway enforces', async () => {
    expect(await audio(gw, 'globex')).toBe(200);
    expect(await audio(gw, 'globex')).toBe(429);
    writeFileSync(policyFile, policy('3/1m'));
    const r = await call(gw.adminUrl!, 'POST', '/v1/admin/reload', ADMIN);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ reloaded: true, rules: 1 });
    expect((await call(gw.adminUrl!, 'GET', '/v1/admin/policy/', READ)).body.rules[0].limit).toBe(3);
    expect(await audio(gw, 'globex')).toBe(200);
    // A broken file is refused; the policy in force stays.
    writeFileSync(policyFile, 'rules: [ { name: x, limit: "nope" } ]');
    const bad = await call(gw.adminUrl!, 'POST', '/v1/admin/reload', ADMIN);
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('invalid_policy');
    expect(await audio(gw, 'globex')).toBe(200);
    expect(await audio(gw, 'globex')).toBe(429);
  });

  it('the gateway port forwards /v1/admin upstream like any other path', async () => {
    const before = upstream.hits.get('/v1/admin/policy') ?? 0;
    const r = await call(gw.url, 'GET', '/v1/admin/policy', ADMIN);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, path: '/v1/admin/policy' });
    expect(upstream.hits.get('/v1/admin/policy')).toBe(before + 1);
  });
});

describe('the gateway serves the admin API under /v1/admin on its own port when given no admin port', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway({ policy: policy('1/1m'), upstream: upstream.url, admin: adminApi({ adminToken: ADMIN }) });
  });
  afterAll(() => gw.close(1000));

  it('answers /v1/admin itself (never forwarded) and forwards everything else', async () => {
    const before = upstream.hits.get('/v1/admin/overrides') ?? 0;
    expect(gw.adminUrl).toBeUndefined();
    expect((await call(gw.url, 'GET', '/v1/admin/overrides')).status).toBe(401);
    const listed = await call(gw.url, 'GET', '/v1/admin/overrides/', ADMIN);
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ overrides: [], policy: [] });
    const set = await call(gw.url, 'PUT', '/v1/admin/overrides', ADMIN, { rule: 'audio-per-tenant', key: { tenant: 'initech' }, limit: '2/1m', reason: 'ticket 4712' });
    expect(set.status).toBe(200);
    expect(await audio(gw, 'initech')).toBe(200);
    expect(await audio(gw, 'initech')).toBe(200);
    expect(await audio(gw, 'initech')).toBe(429);
    expect(upstream.hits.get('/v1/admin/overrides') ?? 0).toBe(before);
    // A policy given as text has no file to reload: 409, said in JSON.
    const reload = await call(gw.url, 'POST', '/v1/admin/reload', ADMIN);
    expect(reload.status).toBe(409);
    expect(reload.body.error.code).toBe('no_policy_file');
    // A path that only starts like the admin API's is the upstream's.
    expect((await call(gw.url, 'GET', '/v1/administrators')).body).toMatchObject({ ok: true, path: '/v1/administrators' });
  });

  it('a token setup that cannot work stops startup with one line', async () => {
    await expect(startGateway({ policy: policy('1/1m'), upstream: upstream.url, admin: adminApi({ adminTokenFile: join(dir, 'missing-token') }) })).rejects.toThrow(/cannot read the admin token file .*missing-token: ENOENT/);
  });
});
