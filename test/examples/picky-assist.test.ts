import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/index.js';
import { manualClock } from '../helpers/clock.js';

// Seed 002: login lockout, signup per IP, bot-loop breaker, offline replies, API rates, caps.
async function open() {
  const clock = manualClock();
  return { clock, sluice: await Sluice.open({ policy: 'examples/picky-assist.yaml', clock: clock.now }) };
}

describe('examples/picky-assist.yaml', () => {
  it('the 4th failed login within 3 minutes blocks that login for exactly 15 minutes; successes are not counted', async () => {
    const { clock, sluice } = await open();
    const login = { api: 'Login', user: 'maria' };
    const attempt = async (status: number) => {
      const d = await sluice.check(login);
      if (d.allowed) await sluice.record(login, { status });
      clock.advance(20_000);
      return d;
    };
    for (let i = 0; i < 5; i++) expect((await attempt(200)).allowed).toBe(true); // successes never count
    for (let i = 0; i < 3; i++) expect((await attempt(401)).allowed).toBe(true); // 3 failures: still allowed
    expect((await attempt(401)).allowed).toBe(true); // the 4th failure is detected after it happens…
    const trippedAt = clock.now() - 20_000;
    const blocked = await sluice.check(login); // …and login is now disabled
    expect(blocked).toMatchObject({ allowed: false, status: 429, code: 'login_disabled', rule: 'login-lockout' });
    expect(blocked.retryAfterMs).toBe(trippedAt + 15 * 60_000 - clock.now());
    expect((await sluice.check({ api: 'Login', user: 'other' })).allowed).toBe(true);
    clock.set(trippedAt + 15 * 60_000 - 1);
    expect((await sluice.check(login)).allowed).toBe(false);
    clock.set(trippedAt + 15 * 60_000);
    expect((await sluice.check(login)).allowed).toBe(true);
  });

  it('failures spread wider than 3 minutes never lock out', async () => {
    const { clock, sluice } = await open();
    const login = { api: 'Login', user: 'slow' };
    for (let i = 0; i < 10; i++) {
      expect((await sluice.check(login)).allowed).toBe(true);
      await sluice.record(login, { status: 401 });
      clock.advance(61_000); // never 4 within 3 minutes
    }
  });

  it('a 3rd signup from one IP within 8 hours is refused', async () => {
    const { clock, sluice } = await open();
    const signup = { api: 'Signup', ip: '203.0.113.7' };
    expect((await sluice.check(signup)).allowed).toBe(true);
    clock.advance(3_600_000);
    expect((await sluice.check(signup)).allowed).toBe(true);
    const third = await sluice.check(signup);
    expect(third).toMatchObject({ allowed: false, code: 'signup_limit', retryAfterMs: 7 * 3_600_000 });
    expect((await sluice.check({ api: 'Signup', ip: '198.51.100.1' })).allowed).toBe(true);
    clock.advance(7 * 3_600_000);
    expect((await sluice.check(signup)).allowed).toBe(true);
  });

  it('a 6th reply to the same question within 1 minute is dropped and the contact gets no replies for 1 minute', async () => {
    const { clock, sluice } = await open();
    const reply = (question: string, contact = '+15550001') => sluice.check({ event: 'smart-reply', contact, question });
    for (let i = 0; i < 5; i++) {
      expect((await reply('q-price')).allowed).toBe(true);
      clock.advance(1000);
    }
    const sixth = await reply('q-price');
    expect(sixth).toMatchObject({ allowed: false, action: 'drop', status: 202, rule: 'smart-reply-loop-breaker' });
    // The whole contact is paused, even for another question…
    clock.advance(1000);
    expect((await reply('q-hours')).action).toBe('drop');
    // …but other contacts are not.
    expect((await reply('q-price', '+15550002')).allowed).toBe(true);
    clock.advance(59_000); // one minute after the 6th reply
    expect((await reply('q-hours')).allowed).toBe(true);
  });

  it('sends at most one offline reply per hour per contact, dropping the rest', async () => {
    const { clock, sluice } = await open();
    const offline = { event: 'offline-reply', contact: 'c1' };
    expect((await sluice.check(offline)).allowed).toBe(true);
    clock.advance(59 * 60_000);
    expect((await sluice.check(offline)).action).toBe('drop');
    clock.advance(60_000);
    expect((await sluice.check(offline)).allowed).toBe(true);
  });

  it('enforces the push (90/min), device status (3/min) and connector (10/min in, 3/min out) rows', async () => {
    const { sluice } = await open();
    const count = async (subject: Record<string, string>, n: number) => {
      let ok = 0;
      for (let i = 0; i < n; i++) if ((await sluice.check(subject)).allowed) ok++;
      return ok;
    };
    expect(await count({ api: 'Send Message', account: 'a' }, 100)).toBe(90);
    expect(await count({ api: 'Fetch Device Status', account: 'a' }, 5)).toBe(3);
    expect(await count({ event: 'connector-inbound', connector: 'k' }, 12)).toBe(10);
    expect(await count({ event: 'connector-outbound-http', connector: 'k' }, 5)).toBe(3);
  });

  it('expresses the caps rows in the policy (enforced by the gateway and middleware)', async () => {
    const { sluice } = await open();
    const caps = Object.fromEntries(sluice.policy.caps.map((c) => [c.name, c]));
    expect(caps['numbers-per-api-call'].maxItems).toEqual([{ path: '$.numbers', segments: ['numbers'], max: 10_000 }]);
    expect(caps['broadcast-contact-selection'].maxItems![0].max).toBe(10_000);
    expect(caps['broadcast-sheet-upload'].maxRows).toBe(5000);
    expect(caps['contacts-upload-direct'].maxItems![0].max).toBe(2000);
    expect(caps['contacts-upload-queued'].maxItems![0].max).toBe(10_000);
    expect(caps['contact-sheet-size'].maxBodyBytes).toBe(10_000_000);
    expect(caps['mass-update-records'].maxItems![0]).toMatchObject({ path: '$.records', max: 2000 });
    expect(caps['attribute-file-size'].maxFileBytes).toBe(25_000_000);
  });
});
