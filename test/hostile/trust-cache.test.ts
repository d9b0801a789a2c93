import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trustCache, trustList } from '../../src/http/client-ip.js';
import { startGateway, type Gateway } from '../../src/gateway/index.js';
import { createAdminApi } from '../../src/server/index.js';
import { startUpstream, type Upstream } from '../gateway/support.js';

/**
 * The cache of trusted_proxies answers (client-ip.ts, issue 15): it answers exactly as the list
 * does, also past its bound (the oldest answers go, none is wrong), and a reload that changes
 * trusted_proxies changes the answer (a new list comes with a new cache): end to end, through
 * the gateway's admin reload, on a rule keyed on the client IP.
 */

const ipv4 = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map((o) => o.join('.'));

describe('trust cache', () => {
  it('answers as BlockList.check does, for repeated and for more distinct addresses than it keeps', () => {
    const list = trustList(['10.0.0.0/8', '192.168.0.0/16', 'fd00::/8', 'loopback']);
    fc.assert(
      fc.property(fc.array(fc.oneof(ipv4, fc.constantFrom('10.1.2.3', '127.0.0.1', '::1', 'fd00::5', '2001:db8::1', '192.168.9.9')), { minLength: 1, maxLength: 300 }), (ips) => {
        const cached = trustCache(list, 16); // a small bound, so eviction runs
        for (const ip of [...ips, ...ips]) expect(cached(ip), ip).toBe(list.check(ip, ip.includes(':') ? 'ipv6' : 'ipv4'));
      }),
    );
  });
});

describe('a reload that changes trusted_proxies changes the client IP', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-trust-'));
  const file = join(dir, 'policy.yaml');
  const policy = (trusted: string) => `version: 1
subject:
  trusted_proxies: [${trusted}]
rules:
  - { name: per-ip, key: [ip], limit: 1/1m }
`;
  let upstream: Upstream;
  let gw: Gateway;
  beforeAll(async () => {
    upstream = await startUpstream();
    writeFileSync(file, policy('loopback'));
    gw = await startGateway({ policy: file, upstream: upstream.url, admin: { api: (sluice) => createAdminApi({ sluice, log: pino({ level: 'silent' }), adminToken: 'trust-admin-1', policyFile: file }) } });
  });
  afterAll(async () => {
    await gw.close(1000);
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const from = (client: string) => fetch(`${gw.url}/x`, { headers: { 'x-forwarded-for': client } }).then(async (r) => (await r.arrayBuffer(), r.status));

  it('the peer trusted, then not: two clients behind it, then one address', async () => {
    // 127.0.0.1 is a trusted proxy: each forwarded client has its own budget.
    expect(await from('203.0.113.1')).toBe(200);
    expect(await from('203.0.113.2')).toBe(200);
    expect(await from('203.0.113.1')).toBe(429);
    writeFileSync(file, policy('10.0.0.0/8'));
    const r = await fetch(`${gw.url}/v1/admin/reload`, { method: 'POST', headers: { authorization: 'Bearer trust-admin-1' } });
    expect(r.status).toBe(200);
    // No longer trusted: X-Forwarded-For is ignored, every request is the peer's (a cached "trusted" would let 203.0.113.3 through).
    expect(await from('203.0.113.3')).toBe(200);
    expect(await from('203.0.113.4')).toBe(429);
  });
});
