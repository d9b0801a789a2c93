/**
 * Seed 002's "at most 10000 numbers in a single call" through the Express middleware: the item
 * counter reads JSON as UTF-8, while express.json() decodes the body by its charset (UTF-16,
 * UTF-32, even UTF-7). 10,001 numbers sent as `application/json; charset=utf-16le` reached the
 * app uncounted. A capped JSON body in another charset than UTF-8 is now refused (415), as a
 * capped body with a Content-Encoding is.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sluice } from '../../src/middleware/express.js';
import { send, SEED_POLICY } from './support.js';

let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  app.use(sluice({ policy: SEED_POLICY, onMissingKey: 'skip' }));
  app.post('/pa/push', express.json({ limit: '50mb' }), (req, res) => res.json({ numbers: req.body.numbers?.length ?? 0 }));
  server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

const numbers = (n: number) => JSON.stringify({ numbers: Array.from({ length: n }, (_, i) => `+1${i}`) });
const push = (body: Buffer, charset: string) => send(`${base}/pa/push`, { method: 'POST', body: body as BodyInit, headers: { 'x-account-id': 'acme', 'content-type': `application/json; charset=${charset}` } });

describe('a JSON body in a charset the counter does not read', () => {
  it('10,001 numbers as UTF-16 (with or without a byte order mark) are refused, not waved through', async () => {
    for (const [charset, body] of [
      ['utf-16le', Buffer.from(numbers(10_001), 'utf16le')],
      ['UTF-16', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(numbers(10_001), 'utf16le')])],
    ] as const) {
      const r = await push(body, charset);
      expect(r.status, `${charset}: ${r.text.slice(0, 200)}`).toBe(415);
      expect(r.body.error).toMatchObject({ code: 'unsupported_charset', cap: 'numbers-per-call' });
    }
  });

  it('UTF-8, said or not, is counted as before', async () => {
    expect((await push(Buffer.from(numbers(10_000)), 'utf-8')).body).toEqual({ numbers: 10_000 });
    expect((await push(Buffer.from(numbers(10_001)), 'UTF-8')).status).toBe(422);
    const plain = await send(`${base}/pa/push`, { method: 'POST', body: numbers(10_000), headers: { 'x-account-id': 'acme', 'content-type': 'application/json' } });
    expect(plain.body).toEqual({ numbers: 10_000 });
  });
});
