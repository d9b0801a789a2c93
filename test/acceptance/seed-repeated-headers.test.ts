/**
 * Seed 003's "one recording request per 3 seconds per tenant" through the gateway, with the
 * tenant from `x-tenant-id` as the README's subject section writes it. Node joins repeated
 * header lines with ", ", so `x-tenant-id: acme` sent twice was the tenant "acme, acme" to
 * Sluice — a bucket of its own — while an upstream that reads the first line (Go's
 * Header.Get, Java's getHeader) served tenant acme: every new spelling ("acme, 1",
 * "acme, 2", …) was another free download. A header that names a key attribute must come once.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/gateway/index.js';
import { sluice as expressSluice } from '../../src/middleware/express.js';
import { SEED_POLICY } from './support.js';

let upstream: Server;
let app: Server;
let gw: Gateway;
const served: string[] = [];

beforeAll(async () => {
  upstream = createServer((req: IncomingMessage, res) => {
    // the first line, as Go's Header.Get and Java's getHeader read it
    const i = req.rawHeaders.findIndex((h, k) => k % 2 === 0 && h.toLowerCase() === 'x-tenant-id');
    served.push(req.rawHeaders[i + 1]);
    res.writeHead(200, { 'content-type': 'audio/wav' }).end('audio');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  gw = await startGateway({ policy: SEED_POLICY, store: 'memory', upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, port: 0, host: '127.0.0.1' });
  const e = express();
  e.use(expressSluice({ policy: SEED_POLICY }));
  e.get('/ccaas/recordings/:id/audio', (_req, res) => res.end('audio'));
  app = createServer(e);
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
});
afterAll(async () => {
  await gw?.close(100);
  await new Promise((r) => upstream?.close(r));
  await new Promise((r) => app?.close(r));
});

function get(port: number, tenant: string | string[]): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/ccaas/recordings/r1/audio', headers: { 'x-tenant-id': tenant } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
        resolve({ status: res.statusCode!, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a header that names a key attribute, sent more than once', () => {
  for (const door of ['gateway', 'express'] as const) {
    it(`${door}: is refused 400, so a repeated x-tenant-id cannot open a fresh bucket for a tenant`, async () => {
      const port = door === 'gateway' ? gw.port : (app.address() as AddressInfo).port;
      const tenant = `rep-${door}`;
      expect((await get(port, tenant)).status).toBe(200);
      expect((await get(port, tenant)).status).toBe(429);
      for (const lines of [[tenant, tenant], [tenant, '1'], [tenant, '2']]) {
        const r = await get(port, lines);
        expect(r.status, JSON.stringify(lines)).toBe(400);
        expect(r.body.error.code).toBe('repeated_header');
      }
      if (door === 'gateway') expect(served.filter((t) => t === tenant)).toHaveLength(1);
      // one line holding a comma is a value like any other
      expect((await get(port, `${tenant}, x`)).status).toBe(200);
    });
  }
});
