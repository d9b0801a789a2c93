import { connect } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/gateway/index.js';
import { createAdminApi } from '../../src/server/index.js';
import { start, stopAll, type Service } from '../server/support.js';
import { startUpstream, type Upstream } from './support.js';

/**
 * `Expect: 100-continue` on every admin API (and the decision API), over a raw socket: the client
 * sends the headers, waits for `100 Continue`, then the body. Node answers it itself only while
 * no checkContinue listener exists; the connection tracking of graceful shutdown added one to
 * every server, so none said 100 (curl, which asks for it on bodies over 1 KB, waited a second;
 * a client that waits for it hung). On the gateway's shared port the gateway's own listener
 * decides forwarded requests before their 100, and must say it for admin paths itself.
 */

const TOKEN = 'continue-admin-token';
const POLICY = 'version: 1\nsubject:\n  headers: { x-tenant-id: tenant }\nrules:\n  - { name: per-tenant, key: [tenant], limit: 5/1m, scale: { attribute: licensed_agents, of: tenant, default: 1 } }\n';
const log = pino({ level: 'silent' });
let upstream: Upstream;
let service: Service;
let shared: Gateway;
let ownPort: Gateway;

beforeAll(async () => {
  upstream = await startUpstream();
  service = await start({ policy: POLICY, store: 'memory', adminToken: TOKEN });
  const admin = (port?: number) => ({ port, api: (sluice: Gateway['sluice']) => createAdminApi({ sluice, log, adminToken: TOKEN }) });
  shared = await startGateway({ policy: POLICY, upstream: upstream.url, admin: admin() });
  ownPort = await startGateway({ policy: POLICY, upstream: upstream.url, admin: admin(0) });
});
afterAll(async () => {
  await Promise.all([stopAll(), shared.close(0), ownPort.close(0), upstream.close()]);
});

/** A request with Expect: 100-continue: the interim response seen before the body was sent, then the final one. */
function sendExpectingContinue(port: number, method: string, path: string, body: string): Promise<{ interim: string; final: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    let interim: string | undefined;
    // A bound for the failing case only (no 100 ever comes); a passing run gets its 100 at once.
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no 100 Continue within 5 s; got ${JSON.stringify(got)}`));
    }, 5_000);
    socket.on('error', reject);
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (interim === undefined) {
        const end = got.indexOf('\r\n\r\n');
        if (end < 0) return;
        interim = got.slice(0, end + 4);
        got = got.slice(end + 4);
        if (!interim.startsWith('HTTP/1.1 100')) {
          clearTimeout(timer);
          socket.destroy();
          resolve({ interim: '', final: interim + got });
          return;
        }
        clearTimeout(timer);
        socket.write(body);
      }
      if (/\r\n\r\n[\s\S]*\}$/.test(got)) {
        socket.end();
        resolve({ interim, final: got });
      }
    });
    socket.write(
      `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`,
    );
  });
}

describe('Expect: 100-continue on the admin API (raw socket)', () => {
  const body = JSON.stringify({ licensed_agents: 3 });
  const cases: [string, () => number][] = [
    ['the service', () => service.port],
    ['the gateway, admin API on its own port', () => ownPort.adminPort!],
    ['the gateway, admin API on the shared port', () => shared.port],
  ];
  it.each(cases)('%s: 100 Continue, then the body is read and answered 200', async (_name, port) => {
    const r = await sendExpectingContinue(port(), 'PUT', '/v1/admin/attributes/tenant/acme', body);
    expect(r.interim).toMatch(/^HTTP\/1\.1 100 Continue\r\n/);
    expect(r.final).toMatch(/^HTTP\/1\.1 200 /);
    expect(r.final).toContain('"licensed_agents":3');
  });

  it("the service's decision API too", async () => {
    const r = await sendExpectingContinue(service.port, 'POST', '/v1/check', JSON.stringify({ subject: { tenant: 'acme' } }));
    expect(r.interim).toMatch(/^HTTP\/1\.1 100 Continue\r\n/);
    expect(r.final).toMatch(/^HTTP\/1\.1 200 /);
    expect(r.final).toContain('"allowed":true');
  });

  it('the shared port still decides a forwarded request before its 100 (a refused one gets no 100)', async () => {
    const port = shared.port;
    const ask = () =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        let got = '';
        socket.on('error', reject);
        socket.on('data', (d: Buffer) => {
          got += d.toString('latin1');
          if (got.includes('\r\n\r\n')) {
            socket.destroy();
            resolve(got.slice(0, got.indexOf('\r\n')));
          }
        });
        socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nX-Tenant-Id: hammer\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n`);
      });
    const lines: string[] = [];
    for (let i = 0; i < 6; i++) lines.push(await ask());
    expect(lines.slice(0, 5).every((l) => l.startsWith('HTTP/1.1 100'))).toBe(true);
    expect(lines[5]).toMatch(/^HTTP\/1\.1 429 /);
  });
});
