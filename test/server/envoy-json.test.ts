/**
 * Envoy's POST /json on the service's raw node:http path (src/server/routes/envoy-json.ts):
 * the same answers as the fastify route (200, 429, 400, 503), any content type, the body
 * limit, 405 for other methods, and on SQLite an answer that is already committed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { EnvoyRateLimiter, loadEnvoyConfig } from '../../src/envoy/index.js';
import { SqliteStore } from '../../src/stores/sqlite.js';
import { EXAMPLES, start, stopAll } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-envoy-json-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(stopAll);

const CONFIG = EXAMPLES + 'envoy/config.yaml';
const marketing = (to: string) => ({ domain: 'messaging', descriptors: [{ entries: [{ key: 'message_type', value: 'marketing' }, { key: 'to_number', value: to }] }] });

it('answers 200 then 429 (OVER_LIMIT) with the proto3 JSON response, for any content type', async () => {
  const s = await start({ envoyConfig: CONFIG });
  for (let i = 0; i < 5; i++) {
    const r = await s.post('/json', JSON.stringify(marketing('1')), { 'content-type': i % 2 ? 'application/x-www-form-urlencoded' : 'application/json' });
    expect(r.status).toBe(200);
    expect(r.body.statuses[0]).toMatchObject({ code: 'OK', limitRemaining: 4 - i, currentLimit: { requestsPerUnit: 5, unit: 'DAY' } });
  }
  const over = await s.post('/json', marketing('1'));
  expect(over.status).toBe(429);
  expect(over.body.overallCode).toBe('OVER_LIMIT');
  expect(over.headers.get('content-type')).toContain('application/json');
});

it('400 for a body that is not JSON or no RateLimitRequest, with a JSON error body', async () => {
  const s = await start({ envoyConfig: CONFIG });
  const bad = await s.post('/json', '{"domain":', { 'content-type': 'application/json' });
  expect(bad.status).toBe(400);
  expect(bad.body.error.code).toBe('invalid_json');
  const unknown = await s.post('/json', { domain: 'messaging', descriptorz: [] });
  expect(unknown.status).toBe(400);
  expect(unknown.body.error).toMatchObject({ code: 'invalid_request' });
  expect(unknown.body.error.message).toContain('descriptorz');
  const empty = await s.post('/json', '');
  expect(empty.status).toBe(400);
});

it('413 for a body over the limit; 405 with Allow for another method', async () => {
  const s = await start({ envoyConfig: CONFIG, bodyLimit: 1024 });
  const big = await s.post('/json', JSON.stringify({ domain: 'x'.repeat(4096), descriptors: [] }));
  expect(big.status).toBe(413);
  expect(big.body.error.code).toBe('payload_too_large');
  const get = await s.get('/json');
  expect(get.status).toBe(405);
  expect(get.headers.get('allow')).toContain('POST');
});

it('503 with a JSON body when the store fails', async () => {
  const store = new SqliteStore(join(dir, 'closed.db'), { sweepIntervalMs: 0 });
  await store.close();
  const s = await start({ envoyConfig: CONFIG, store });
  const r = await s.post('/json', marketing('2'));
  expect(r.status).toBe(503);
  expect(typeof r.body.error.code).toBe('string');
});

it('on SQLite, an answered /json charge is committed (another connection sees it)', async () => {
  const file = join(dir, 'envoy.db');
  const s = await start({ envoyConfig: CONFIG, store: `sqlite:${file}` });
  for (let i = 0; i < 3; i++) expect((await s.post('/json', marketing('3'))).status).toBe(200);
  const other = new SqliteStore(file, { sweepIntervalMs: 0 });
  try {
    // Another connection to the file (as another process would) sees the three charges.
    const limiter = new EnvoyRateLimiter(loadEnvoyConfig(CONFIG), other);
    const fourth = await limiter.shouldRateLimit(marketing('3'));
    expect(fourth.statuses[0].limit_remaining).toBe(1);
  } finally {
    await other.close();
  }
});
