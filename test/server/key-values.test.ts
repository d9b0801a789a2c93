import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { storeCases } from './stores.js';
import { ADMIN, EXAMPLES, fakeClock, start, stopAll, TOKENS } from './support.js';

/**
 * Key values are data (issue 17): a lone surrogate next to `%` or `|` used to answer 500
 * on /v1/check, /json and the admin routes (encodeURIComponent throws URIError on it).
 * JSON bodies are sent as text with the escapes, as a client would send them.
 */
const cases = storeCases('hostile key values');
afterEach(stopAll);

const HOSTILE = ['a%\\ud800', 'a|\\udfff', '%\\ud800|', '\\u0000%7C\\u001f', 'x'.repeat(1024)];

describe.each(cases)('on the $name store', (store) => {
  afterAll(() => store.teardown());

  it('any string is a key value on /v1/check, /v1/check/batch, /json and the admin routes: never a 5xx', async () => {
    const clock = fakeClock();
    const s = await start({ config: EXAMPLES + 'picky-assist.yaml', envoyConfig: EXAMPLES + 'envoy/config.yaml', store: await store.spec(), clock: clock.fn, ...TOKENS });
    const json = { 'content-type': 'application/json' };
    for (const v of HOSTILE) {
      const subject = `{"event":"offline-reply","contact":"${v}"}`;
      const first = await s.post('/v1/check', `{"subject":${subject}}`, json);
      expect(first.status, `${v}: ${first.text}`).toBe(200);
      const second = await s.post('/v1/check', `{"subject":${subject}}`, json);
      expect(second.status, v).toBe(200); // action drop: 200, not allowed
      expect(second.body.allowed, v).toBe(false);
      const batch = await s.post('/v1/check/batch', `{"checks":[{"subject":${subject}}]}`, json);
      expect(batch.status, v).toBe(200);
      const inspect = await s.post('/v1/admin/inspect', `{"subject":${subject}}`, { ...json, ...ADMIN });
      expect(inspect.status, `${v}: ${inspect.text}`).toBe(200);
      const put = await s.call('PUT', '/v1/admin/overrides', `{"rule":"teambox-offline-reply","key":{"contact":"${v}"},"limit":"3/1h"}`, { ...json, ...ADMIN });
      expect(put.status, `${v}: ${put.text}`).toBe(200);
      expect((await s.post('/v1/check', `{"subject":${subject}}`, json)).body.allowed, v).toBe(true);
      const reset = await s.post('/v1/admin/reset', `{"subject":${subject}}`, { ...json, ...ADMIN });
      expect(reset.status, `${v}: ${reset.text}`).toBe(200);
      expect(reset.body.keysWithState, v).toBe(1);
      const del = await s.call('DELETE', '/v1/admin/overrides', `{"rule":"teambox-offline-reply","key":{"contact":"${v}"}}`, { ...json, ...ADMIN });
      expect(del.status, `${v}: ${del.text}`).toBe(200);
      const envoy = await s.post('/json', `{"domain":"messaging","descriptors":[{"entries":[{"key":"to_number","value":"${v}"}]}]}`, json);
      expect(envoy.status, `${v}: ${envoy.text}`).toBe(200);
      expect(envoy.body.overallCode).toBe('OK');
    }
    expect((await s.get('/v1/admin/overrides', ADMIN)).status).toBe(200);
  });
});
