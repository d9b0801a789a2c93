import { afterAll, describe, expect, it } from 'vitest';
import { EXAMPLES, start, stopAll } from '../server/support.js';

/** Envoy's protocol next to the public API must not let a caller choose its own limit; and it can live on its own port. */
afterAll(stopAll);

const ENVOY = EXAMPLES + 'envoy/config.yaml';
// 5 marketing messages a day to one number; the caller asks for a million
const raise = { domain: 'messaging', descriptors: [{ entries: [{ key: 'message_type', value: 'marketing' }, { key: 'to_number', value: '2061111111' }], limit: { requests_per_unit: 1_000_000, unit: 'DAY' } }] };

async function admitted(post: (body: unknown) => Promise<{ status: number }>, n: number): Promise<number> {
  let ok = 0;
  for (let i = 0; i < n; i++) if ((await post(raise)).status === 200) ok++;
  return ok;
}

describe('POST /json and a request-level limit', () => {
  it('is ignored by default: 5 of 20 admitted on a 5/day rule', async () => {
    const s = await start({ envoyConfig: ENVOY });
    expect(await admitted((b) => s.post('/json', b), 20)).toBe(5);
  });

  it('is honoured with envoyRequestLimits (envoy’s own behaviour, for a port only Envoy reaches)', async () => {
    const s = await start({ envoyConfig: ENVOY, envoyRequestLimits: true });
    expect(await admitted((b) => s.post('/json', b), 20)).toBe(20);
  });
});

it('envoyPort: /json is served on its own port, and the public port answers 404 for it', async () => {
  const s = await start({ config: EXAMPLES + 'smartassist.yaml', envoyConfig: ENVOY, envoyPort: 0 });
  expect(s.envoyPort).toBeGreaterThan(0);
  const body = { domain: 'messaging', descriptors: [{ entries: [{ key: 'to_number', value: '2061111111' }] }] };
  const pub = await s.post('/json', body);
  expect(pub.status).toBe(404);
  expect(pub.body.error.message).toMatch(/own port/);
  const own = await fetch(`${s.envoyUrl}/json`, { method: 'POST', body: JSON.stringify(body) });
  expect(own.status).toBe(200);
  expect(((await own.json()) as { overallCode: string }).overallCode).toBe('OK');
  const other = await fetch(`${s.envoyUrl}/v1/check`, { method: 'POST', body: '{"subject":{}}', headers: { 'content-type': 'application/json' } });
  expect(other.status).toBe(404);
  expect((await s.post('/v1/check', { subject: { account: 'a' } })).status).toBe(200);
});
