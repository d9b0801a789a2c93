/**
 * The middleware on a store that fails: the rule fails open through the local limiter (or
 * closed with 503), and the failure is logged — once, with a count later, never a line per
 * request and never silently.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sluice } from '../../src/middleware/express.js';
import { MemoryStore } from '../../src/stores/memory.js';
import type { OpResult } from '../../src/stores/store.js';

class DownStore extends MemoryStore {
  override apply(): OpResult[] {
    throw new Error('connection refused');
  }
}

const policy = {
  rules: [
    { name: 'per-tenant', key: ['tenant'], limit: '100/1m', on_store_error: 'open' as const },
    { name: 'payments', match: { api: 'Pay' }, key: ['tenant'], limit: '100/1m', on_store_error: 'closed' as const },
  ],
  routes: [{ method: 'POST', path: '/pay', api: 'Pay' }],
  subject: { headers: { 'x-tenant-id': 'tenant' } },
};

describe('middleware with a failing store', () => {
  afterEach(() => vi.restoreAllMocks());

  it('fails open or closed per rule, and logs the failure once instead of per request', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const app = express();
    app.use(sluice({ policy, store: new DownStore() }));
    app.all('/{*any}', (_req, res) => res.send('ok'));
    const server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await fetch(`${url}/items`, { headers: { 'x-tenant-id': 'acme' } })).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200]);
      const closed = await fetch(`${url}/pay`, { method: 'POST', headers: { 'x-tenant-id': 'acme' } });
      expect(closed.status).toBe(503);
      expect(((await closed.json()) as { error: { code: string } }).error.code).toBe('store_unavailable');
      const lines = warn.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('rate-limit store is failing'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('connection refused');
      expect(lines[0]).not.toMatch(/\n\s+at /);
    } finally {
      await new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
    }
  });
});
