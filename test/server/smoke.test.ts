import { afterAll, expect, it } from 'vitest';
import { EXAMPLES, start, stopAll } from './support.js';

afterAll(stopAll);

it('answers a check', async () => {
  const s = await start({ config: EXAMPLES + 'smartassist.yaml' });
  const r = await s.post('/v1/check', { subject: { account: 'a', api: 'Queue Size' } });
  console.log(r.status, r.text, [...r.headers]);
  expect(r.status).toBe(200);
});
