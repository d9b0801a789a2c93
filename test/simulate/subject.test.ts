/** The line → subject mapping is the front doors' own: the policy's routes:, subject: headers, API keys and trusted proxies. */
import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../src/policy/load.js';
import { loadWithRoutes } from '../../src/simulate/routes-overlay.js';
import { simulate } from '../../src/simulate/simulate.js';
import { combined, envoyLine, example, jsonLine, logFile, ROUTES, T0, tmpFile, type Req } from './support/lines.js';

describe('subjects from log lines', () => {
  it('a gateway policy’s own routes: and subject: headers, from Envoy JSON logs with the tenant header', async () => {
    const dl = (i: number, tenant: string): Req => ({ atMs: T0 + i * 1000, path: `/v1/recordings/rec-${i}/audio`, headers: { 'x-tenant-id': tenant }, bytes: 10 });
    // acme every second: 1 per 3 s admits lines 1, 4, 7; globex once
    const reqs = [dl(0, 'acme'), dl(1, 'acme'), dl(2, 'acme'), dl(3, 'acme'), dl(3, 'globex'), dl(4, 'acme'), dl(5, 'acme'), dl(6, 'acme')];
    const r = await simulate({ policy: loadPolicy(example('gateway/recordings-gateway.yaml')), log: logFile('envoy-tenant.log', reqs, envoyLine) });
    expect(r.format).toBe('envoy');
    const gcra = r.rules.find((x) => x.rule === 'recording-audio-per-tenant')!;
    expect(gcra).toMatchObject({ matched: 8, admitted: 4, refused: 4 });
    expect(gcra.topKeys).toEqual([{ key: { tenant: 'acme' }, refused: 4 }]);
  });

  it('the client IP behind a trusted proxy comes from nginx main’s X-Forwarded-For', async () => {
    const routes = tmpFile('routes-proxy.yaml', `${(await import('node:fs')).readFileSync(ROUTES, 'utf8')}\nsubject:\n  trusted_proxies: [private]\n`);
    const policy = loadWithRoutes(example('picky-assist.yaml'), routes);
    // three signups from one client behind the load balancer 10.0.0.5; a fourth from another client
    const signup = (i: number, client: string) => `${combined({ atMs: T0 + i * 1000, method: 'POST', path: '/v1/signup', status: 201, ip: '10.0.0.5' })} "${client}, 10.0.0.9"`;
    const lines = [signup(0, '198.51.100.1'), signup(1, '198.51.100.1'), signup(2, '198.51.100.1'), signup(3, '198.51.100.2')];
    const r = await simulate({ policy, log: tmpFile('xff.log', lines.join('\n')) });
    const s = r.rules.find((x) => x.rule === 'signup-per-ip')!;
    expect(s).toMatchObject({ matched: 4, admitted: 3, refused: 1, firstRefusal: { line: 3, key: { ip: '198.51.100.1' } } });
    // without the trust list, every signup is the load balancer's: the 3rd and 4th are refused
    const plain = await simulate({ policy: loadWithRoutes(example('picky-assist.yaml'), ROUTES), log: tmpFile('xff2.log', lines.join('\n')) });
    expect(plain.rules.find((x) => x.rule === 'signup-per-ip')).toMatchObject({ refused: 2, topKeys: [{ key: { ip: '10.0.0.5' }, refused: 2 }] });
  });

  it('lines without a trustworthy identity are counted as answered 401 before any rule', async () => {
    const policy = tmpFile(
      'keys.yaml',
      `rules:\n  - { name: per-account, key: [account], limit: 2/1m }\nsubject:\n  api_keys:\n    required: true\n    keys:\n      "k_live_12345": { account: acme }\n`,
    );
    const reqs: Req[] = [
      { atMs: T0, path: '/x', headers: { 'x-api-key': 'k_live_12345' } },
      { atMs: T0 + 1, path: '/x' },
      { atMs: T0 + 2, path: '/x', headers: { 'x-api-key': 'wrong-key-000' } },
      { atMs: T0 + 3, path: '/x', headers: { 'x-api-key': 'k_live_12345' } },
      { atMs: T0 + 4, path: '/x', headers: { 'x-api-key': 'k_live_12345' } },
    ];
    const r = await simulate({ policy: loadPolicy(policy), log: logFile('keys.log', reqs, jsonLine) });
    expect(r).toMatchObject({ decided: 3, unauthenticated: 2 });
    expect(r.rules[0]).toMatchObject({ matched: 3, admitted: 2, refused: 1, firstRefusal: { line: 5, key: { account: 'acme' } } });
  });
});
