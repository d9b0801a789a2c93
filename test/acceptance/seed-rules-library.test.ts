/**
 * Every seed page's rule, through the library (`Sluice.open` with an injected clock, as the
 * README offers), at its boundaries to the millisecond: the N-th admitted, the N+1-th refused
 * with the page's status and text, and the window's (or lockout's) end exactly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadPolicy, Sluice } from '../../src/index.js';
import { CCAI_TEXT, manualClock, SEED_POLICY, SMARTASSIST_TEXT } from './support.js';

const opened: Sluice[] = [];
async function open() {
  const clock = manualClock();
  const sluice = await Sluice.open({ policy: SEED_POLICY, store: 'memory', clock: clock.now });
  opened.push(sluice);
  return { sluice, clock };
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

// Seed 000's API list, family by family, as the page prints it.
const SMARTASSIST_APIS = [
  'Historical Agent Status Summary', 'Agent Status Details API', 'Get All Conversations Data – Call Details', 'List of Conversations', 'Get a specific Conversation', 'Queue Size',
  'Create an Agent', 'List All Agents', 'Get a Specific Agent', 'Update a Specific Agent', 'Delete a Specific Agent from a Particular Agent Group',
  'Create a Skill', 'Get All Skills from a Skill Group', 'Get a Particular Skill', 'Update a Particular Skill', 'Delete a Skill from a Particular Skill Group',
  'Create a Skill Group', 'Get All Skill Groups', 'Get a Skill Group', 'Update a Skill Group', 'Delete a Skill Group',
  'Create an Agent Group', 'Get All Agent Groups', 'Get an Agent Group', 'Update an Agent Group', 'Delete an Agent Group',
  'Create a Contact by Giving Details', 'Create Bulk Contacts',
  'Import/Save Data by Giving Details', 'Export Data by Giving Details',
  'Transfer Conversation to a Specific Agent',
  'Create a Queue', 'Get a List of Queues', 'Get a List of Agents or Queues', 'Get a Specific Queue', 'Update a Specific Queue', 'Delete a Queue',
  'Raw Data API', 'Auto QA Reporting API',
  'Agents API', 'Queues API', 'Agent Activity API', 'Contact Volume API',
];
// Seed 001's additions to those (its Quality Management family is gone).
const CCAI_ONLY = [
  'Get Intent Real-Time Data', 'Get Conversations Details', 'Get the Agent ID Using the Custom ID', 'Check Agent Availability Status',
  'Import/Save Data by Giving Details (v2)', 'Export Data by Giving Details (v2)', 'Hours of Operation API',
  'Fetch Call Recording (v1)', 'Fetch Call Recording (v2)', 'Delete Call Recording', 'Fetch Voicemail Recording',
  'Create SMS Campaign (Without Template)', 'Create SMS Campaign (Using Template)', 'Create SMS Campaign (Advanced Format)', 'Get SMS Campaign by ID', 'Update SMS Campaign', 'Start SMS Campaign', 'Stop SMS Campaign', 'Delete SMS Campaign', 'Send Outbound SMS',
  'Create Voice Campaign - Agentless Mode', 'Create Voice Campaign - Progressive Mode', 'Create Voice Campaign - Preview Mode', 'Update Voice Campaign', 'Get Voice Campaign by ID', 'Start voice Campaign', 'Stop Voice Campaign', 'Delete Voice Campaign',
  'Get Campaign Status', 'Get All Campaigns',
  'Get All Contact Details - Voice Campaigns', 'Create Contact List', 'Update Contact List', 'Get Contact List Details', 'Get All Contact List Details', 'Add Contacts to a Contact List', 'Delete Contact List Details',
];
const CCAI_APIS = [...SMARTASSIST_APIS.filter((a) => !['Raw Data API', 'Auto QA Reporting API'].includes(a)), ...CCAI_ONLY];

describe('seeds 000 and 001: 60 per minute per account over every listed API, rolling, the vendor text', () => {
  for (const [product, apis, rule, text] of [
    ['smartassist', SMARTASSIST_APIS, 'smartassist-account-per-minute', SMARTASSIST_TEXT],
    ['contact-center-ai', CCAI_APIS, 'ccai-account-per-minute', CCAI_TEXT],
  ] as const) {
    it(`${product}: ${apis.length} APIs share one account budget; the 61st fails with the page's message; the oldest call leaving frees one`, async () => {
      expect(apis.length).toBe(product === 'smartassist' ? 43 : 78);
      const { sluice, clock } = await open();
      for (let i = 0; i < 60; i++) {
        const d = await sluice.check({ product, account: 'acme', api: apis[i % apis.length] });
        expect(d.allowed, `call ${i + 1} (${apis[i % apis.length]})`).toBe(true);
        if (i === 0) clock.advance(1000); // the first call is the oldest, one second before the rest
      }
      const refused = await sluice.check({ product, account: 'acme', api: apis[apis.length - 1] });
      expect(refused.allowed).toBe(false);
      expect(refused.status).toBe(429);
      expect(refused.rule).toBe(rule);
      expect(refused.message).toBe(text);
      expect(refused.retryAfterMs).toBe(59_000);
      expect(refused.headers['Retry-After']).toBe('59');
      expect(refused.headers['RateLimit-Policy']).toBe(`"${rule}";q=60;w=60`);
      expect(refused.headers['RateLimit']).toMatch(new RegExp(`^"${rule}";r=0;t=\\d+$`));
      // every other API of the list is refused too: it is one account-level budget
      for (const api of apis) expect((await sluice.check({ product, account: 'acme', api })).allowed, api).toBe(false);
      // another account is untouched; an API not on the list is not limited
      expect((await sluice.check({ product, account: 'globex', api: apis[0] })).allowed).toBe(true);
      clock.advance(59_000 - 1);
      expect((await sluice.check({ product, account: 'acme', api: apis[0] })).allowed, '1 ms before the oldest leaves').toBe(false);
      clock.advance(1);
      const freed = await sluice.check({ product, account: 'acme', api: apis[0] });
      expect(freed.allowed, 'the moment the oldest leaves').toBe(true);
      expect(freed.remaining).toBe(0);
      expect((await sluice.check({ product, account: 'acme', api: apis[0] })).allowed).toBe(false);
    });
  }

  it('an API outside the lists, and the other vendor, do not count', async () => {
    const { sluice } = await open();
    for (let i = 0; i < 70; i++) {
      expect((await sluice.check({ product: 'smartassist', account: 'acme', api: 'Hours of Operation API' })).allowed).toBe(true);
    }
    for (let i = 0; i < 60; i++) expect((await sluice.check({ product: 'smartassist', account: 'acme', api: 'Queue Size' })).allowed).toBe(true);
    expect((await sluice.check({ product: 'contact-center-ai', account: 'acme', api: 'Queue Size' })).allowed).toBe(true);
  });

  it('a custom rolling limit ("Contact support") from the policy file: 120 per minute for one account', async () => {
    const { sluice } = await open();
    for (let i = 0; i < 120; i++) expect((await sluice.check({ product: 'smartassist', account: 'big-customer', api: 'Queue Size' })).allowed).toBe(true);
    const d = await sluice.check({ product: 'smartassist', account: 'big-customer', api: 'Queue Size' });
    expect(d.allowed).toBe(false);
    expect(d.limit).toBe(120);
    expect(d.headers['RateLimit-Policy']).toBe('"smartassist-account-per-minute";q=120;w=60');
  });
});

describe("limits written in the pages' own words", () => {
  for (const [text, limit, windowMs] of [
    ['90 requests per minute', 90, 60_000],
    ['3 request per minute', 3, 60_000],
    ['10 requests per minute', 10, 60_000],
    ['1 reply in 1 hour', 1, 3_600_000],
    ['2 per 8 hours', 2, 8 * 3_600_000],
    ['60 per minute', 60, 60_000],
    ['10,000 per day', 10_000, 86_400_000],
    ['1 request per 3 seconds', 1, 3000],
  ] as const) {
    it(`"${text}" is ${limit} per ${windowMs} ms`, () => {
      const p = loadPolicy({ version: 1, rules: [{ name: 'r', key: ['a'], limit: text }] });
      expect([p.rules[0].params.limit, p.rules[0].params.windowMs]).toEqual([limit, windowMs]);
    });
  }
});

describe('seed 002 (Picky Assist)', () => {
  const login = { product: 'picky-assist', api: 'Login', user: 'maria' };

  it('login: a 4th unsuccessful login within 3 minutes disables login for exactly 15 minutes', async () => {
    const { sluice, clock } = await open();
    for (let i = 1; i <= 4; i++) {
      expect((await sluice.check(login)).allowed, `attempt ${i}`).toBe(true);
      await sluice.record(login, { status: 401 });
      clock.advance(59_999); // four failures within 3 minutes (the first and the 4th 2:59.997 apart)
    }
    const trippedAt = clock.t - 59_999;
    const d = await sluice.check(login);
    expect(d.allowed).toBe(false);
    expect(d.status).toBe(429);
    expect(d.rule).toBe('login-lockout');
    expect(d.retryAfterMs).toBe(15 * 60_000 - 59_999);
    clock.t = trippedAt + 15 * 60_000 - 1;
    expect((await sluice.check(login)).allowed, '1 ms before 15 minutes').toBe(false);
    clock.t = trippedAt + 15 * 60_000;
    expect((await sluice.check(login)).allowed, 'at 15 minutes').toBe(true);
    // another user was never locked
    expect((await sluice.check({ ...login, user: 'li' })).allowed).toBe(true);
  });

  it('login: 3 failures per 3 minutes never lock (the 4th falls the moment the 1st leaves); successes do not count', async () => {
    const { sluice, clock } = await open();
    for (let i = 0; i < 12; i++) {
      expect((await sluice.check(login)).allowed, `attempt ${i + 1}`).toBe(true);
      await sluice.record(login, { status: 401 });
      await sluice.record(login, { status: 200 });
      clock.advance(60_000);
    }
  });

  it('signup: only 2 from one IP address within 8 hours', async () => {
    const { sluice, clock } = await open();
    const signup = { product: 'picky-assist', api: 'Signup', ip: '203.0.113.7' };
    expect((await sluice.check(signup)).allowed).toBe(true);
    clock.advance(1);
    expect((await sluice.check(signup)).allowed).toBe(true);
    const d = await sluice.check(signup);
    expect(d.allowed).toBe(false);
    expect(d.retryAfterMs).toBe(8 * 3_600_000 - 1);
    expect((await sluice.check({ ...signup, ip: '203.0.113.8' })).allowed).toBe(true);
    clock.advance(8 * 3_600_000 - 2);
    expect((await sluice.check(signup)).allowed).toBe(false);
    clock.advance(1);
    expect((await sluice.check(signup)).allowed).toBe(true);
    expect((await sluice.check(signup)).allowed).toBe(false);
  });

  it('smart replies: more than 5 to one question within a minute stops replies to that contact for 1 minute', async () => {
    const { sluice, clock } = await open();
    const reply = { product: 'picky-assist', api: 'Smart Reply', contact: '+15550001', question: 'q-hours' };
    for (let i = 0; i < 5; i++) expect((await sluice.check(reply)).allowed, `reply ${i + 1}`).toBe(true);
    clock.advance(10_000);
    const sixth = await sluice.check(reply);
    expect(sixth.allowed).toBe(false);
    expect(sixth.action).toBe('drop');
    clock.advance(1);
    // the contact's other questions get no reply either, for the minute after the trip
    const other = await sluice.check({ ...reply, question: 'q-prices' });
    expect(other.allowed).toBe(false);
    expect(other.retryAfterMs).toBe(60_000 - 1);
    expect((await sluice.check({ ...reply, contact: '+15550002' })).allowed, 'another contact').toBe(true);
    clock.advance(60_000 - 2);
    expect((await sluice.check({ ...reply, question: 'q-prices' })).allowed, '1 ms before the minute ends').toBe(false);
    clock.advance(1);
    expect((await sluice.check({ ...reply, question: 'q-prices' })).allowed, 'the minute is over').toBe(true);
  });

  it('teambox: 1 offline reply per hour, the next dropped (not processed)', async () => {
    const { sluice, clock } = await open();
    const offline = { product: 'picky-assist', api: 'Teambox Offline Reply', contact: 'chat-1' };
    expect((await sluice.check(offline)).allowed).toBe(true);
    clock.advance(3_600_000 - 1);
    const d = await sluice.check(offline);
    expect([d.allowed, d.action]).toEqual([false, 'drop']);
    clock.advance(1);
    expect((await sluice.check(offline)).allowed).toBe(true);
  });

  for (const [api, rule, n, action] of [
    ['Send Message', 'push-messages', 90, 'reject'],
    ['Device Status', 'device-status', 3, 'reject'],
    ['Connector Inbound Event', 'connector-inbound', 10, 'drop'],
  ] as const) {
    it(`${api}: ${n} per minute per account, then ${action}`, async () => {
      const { sluice, clock } = await open();
      const s = { product: 'picky-assist', api, account: 'acme' };
      for (let i = 0; i < n; i++) expect((await sluice.check(s)).allowed, `${i + 1}`).toBe(true);
      const d = await sluice.check(s);
      expect([d.allowed, d.action, d.rule]).toEqual([false, action, rule]);
      clock.advance(60_000);
      expect((await sluice.check(s)).allowed).toBe(true);
    });
  }
});

describe('seed 003 (CCaaS recordings)', () => {
  const rec = { product: 'ccaas', api: 'Get Recording Audio', tenant: 'acme' };

  it('one recording request per 3 seconds per tenant, 429; tenants are independent', async () => {
    const { sluice, clock } = await open();
    expect((await sluice.check(rec)).allowed).toBe(true);
    expect((await sluice.check({ ...rec, tenant: 'globex' })).allowed, 'another tenant at the same moment').toBe(true);
    clock.advance(2999);
    const d = await sluice.check(rec);
    expect([d.allowed, d.status, d.rule, d.retryAfterMs]).toEqual([false, 429, 'recording-audio-per-tenant', 1]);
    expect(d.headers['Retry-After']).toBe('1');
    clock.advance(1);
    expect((await sluice.check(rec)).allowed, 'at 3 s').toBe(true);
  });

  it('the 5-day egress cap, scaled by licensed agents (3 × 2 GB), answers 509 once crossed; the crossing download finishes', async () => {
    const { sluice, clock } = await open();
    expect((await sluice.check(rec)).allowed).toBe(true);
    await sluice.record(rec, { bytes: 6e9 - 1 });
    clock.advance(3000);
    expect((await sluice.check(rec)).allowed, 'one byte of the cap left: admitted').toBe(true);
    await sluice.record(rec, { bytes: 50_000_000 });
    clock.advance(3000);
    const d = await sluice.check(rec);
    expect(d.allowed).toBe(false);
    expect(d.status).toBe(509);
    expect(d.code).toBe('bandwidth_limit_exceeded');
    expect(d.message).toBe('Bandwidth Limit Exceeded');
    expect(d.rule).toBe('recording-egress-5d');
    // a tenant without a licensed_agents figure has the default: 1 × 2 GB
    const small = { ...rec, tenant: 'small' };
    expect((await sluice.check(small)).allowed).toBe(true);
    await sluice.record(small, { bytes: 2e9 });
    clock.advance(3000);
    expect((await sluice.check(small)).status).toBe(509);
    // rolling: 5 days later (plus one bucket of slack) the bytes have left
    clock.advance(5 * 86_400_000 + 2 * 3_600_000);
    expect((await sluice.check(rec)).allowed).toBe(true);
  });
});
