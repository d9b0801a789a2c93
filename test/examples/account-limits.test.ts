import { describe, expect, it } from 'vitest';
import { Sluice, loadPolicy } from '../../src/index.js';
import { manualClock } from '../helpers/clock.js';

// Seeds 000 and 001: 60 requests per rolling minute per account over the API families.
for (const [file, message] of [
  ['examples/smartassist.yaml', 'You’ve exceeded the per-minute rate limit. Please wait for sometime before retrying.'],
  ['examples/contact-center-ai.yaml', "You've exceeded the per-minute rate limit. Please wait for sometime before retrying."],
] as const) {
  describe(file, () => {
    const open = async () => {
      const clock = manualClock();
      return { clock, sluice: await Sluice.open({ policy: file, clock: clock.now }) };
    };

    it('refuses the 61st call within any rolling 60 s with the vendor’s exact message; another account is unaffected', async () => {
      const { clock, sluice } = await open();
      for (let i = 0; i < 60; i++) {
        expect((await sluice.check({ account: 'a1', api: 'Queue Size' })).allowed).toBe(true);
        clock.advance(500); // 60 calls spread over 30 s
      }
      const refused = await sluice.check({ account: 'a1', api: 'List All Agents' }); // same family limit, other API
      expect(refused).toMatchObject({ allowed: false, status: 429, message, rule: 'account-per-minute', code: 'rate_limit_exceeded' });
      // The oldest call (t=0) leaves the window at t=60 s: 30 s from now.
      expect(refused.retryAfterMs).toBe(30_000);
      expect(refused.headers['Retry-After']).toBe('30');
      expect(refused.headers['RateLimit-Policy']).toBe('"account-per-minute";q=60;w=60');
      expect((await sluice.check({ account: 'a2', api: 'Queue Size' })).allowed).toBe(true);
      // Rolling, not fixed: at t = 60 s exactly one slot has freed.
      clock.advance(30_000 - 1);
      expect((await sluice.check({ account: 'a1', api: 'Queue Size' })).allowed).toBe(false);
      clock.advance(1);
      expect((await sluice.check({ account: 'a1', api: 'Queue Size' })).allowed).toBe(true);
      expect((await sluice.check({ account: 'a1', api: 'Queue Size' })).allowed).toBe(false);
    });

    it('does not count APIs outside the matrix', async () => {
      const { sluice } = await open();
      for (let i = 0; i < 100; i++) expect((await sluice.check({ account: 'a1', api: 'Some Unlisted API' })).allowed).toBe(true);
    });

    it('gives an account with an override its custom limit', async () => {
      const { sluice } = await open();
      let admitted = 0;
      for (let i = 0; i < 400; i++) if ((await sluice.check({ account: 'acme-enterprise', api: 'Create a Queue' })).allowed) admitted++;
      expect(admitted).toBe(300);
    });

    it('a run-time override in the store wins over the file', async () => {
      const { sluice } = await open();
      await sluice.store.setOverride({ key: 'account-per-minute|a9', rule: 'account-per-minute', keyValues: { account: 'a9' }, limit: 5, windowMs: 60_000 });
      let admitted = 0;
      for (let i = 0; i < 10; i++) if ((await sluice.check({ account: 'a9', api: 'Queue Size' })).allowed) admitted++;
      expect(admitted).toBe(5);
    });
  });
}

describe('the contact-center-ai matrix', () => {
  it('has every family and API of the published page', () => {
    const p = loadPolicy('examples/contact-center-ai.yaml');
    expect(p.groups.size).toBe(17);
    const apis = [...p.groups.values()].reduce((n, g) => n + g.size, 0);
    expect(apis).toBe(78);
    expect(p.rules[0].matches({ account: 'x', api: 'Send Outbound SMS' })).toBe(true);
    expect(p.rules[0].matches({ account: 'x', api: 'Fetch Voicemail Recording' })).toBe(true);
  });
});
