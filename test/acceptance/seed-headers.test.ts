/**
 * RateLimit-Policy and RateLimit as draft-ietf-httpapi-ratelimit-headers-10 defines them, as
 * the README promises: Structured Field lists whose `q`, `w`, `r` and `t` are sf-integers
 * (digits only, at most 15 of them). Seed 003's egress cap is scaled by licensed agents, a
 * figure an admin sets: a fractional or huge figure must still give headers a strict parser
 * reads (before: `q=2469135.78` and `q=Infinity`).
 */
import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/index.js';
import { readFileSync } from 'node:fs';
import { manualClock, SEED_POLICY } from './support.js';

const ITEM = /^"[A-Za-z0-9][A-Za-z0-9_.:-]*"(;[a-z]+=(?:\d{1,15}|"[a-z-]+"))+$/;

function expectDraft10(headers: Record<string, string>) {
  for (const name of ['RateLimit-Policy', 'RateLimit']) {
    const v = headers[name];
    if (v === undefined) continue;
    for (const item of v.split(', ')) expect(item, `${name}: ${v}`).toMatch(ITEM);
  }
  if (headers['Retry-After'] !== undefined) expect(headers['Retry-After']).toMatch(/^\d+$/);
}

describe('draft-10 header syntax on every seed rule, whatever the scale', () => {
  it('licensed agents of 0.00123456789, 0.5, 40 and 1e308: sf-integers only, the tighter side of a fraction', async () => {
    const text = readFileSync(SEED_POLICY, 'utf8').replace(
      'tenant: { acme: { licensed_agents: 3 } }',
      'tenant: { third: { licensed_agents: 0.00123456789 }, half: { licensed_agents: 0.5 }, forty: { licensed_agents: 40 }, huge: { licensed_agents: 1e308 } }',
    );
    const clock = manualClock();
    const sluice = await Sluice.open({ policy: text, store: 'memory', clock: clock.now });
    for (const tenant of ['third', 'half', 'forty', 'huge']) {
      const rec = { product: 'ccaas', api: 'Get Recording Audio', tenant };
      const d = await sluice.check(rec);
      expectDraft10(d.headers);
      await sluice.record(rec, { bytes: 1e6 });
      clock.advance(1000);
      expectDraft10((await sluice.check(rec)).headers);
    }
    const third = (await sluice.check({ product: 'ccaas', api: 'Get Recording Audio', tenant: 'third' })).headers['RateLimit-Policy'];
    expect(third).toContain('"recording-egress-5d";q=2469135;w=432000');
    await sluice.close();
  });

  it('every other seed rule, admitted and refused', async () => {
    const clock = manualClock();
    const sluice = await Sluice.open({ policy: SEED_POLICY, store: 'memory', clock: clock.now });
    const subjects = [
      { product: 'smartassist', api: 'Queue Size', account: 'h' },
      { product: 'contact-center-ai', api: 'Send Outbound SMS', account: 'h' },
      { product: 'picky-assist', api: 'Signup', ip: '192.0.2.1' },
      { product: 'picky-assist', api: 'Smart Reply', contact: 'c', question: 'q' },
      { product: 'picky-assist', api: 'Send Message', account: 'h' },
    ];
    for (const s of subjects) for (let i = 0; i < 100; i++) expectDraft10((await sluice.check(s)).headers);
    await sluice.close();
  });
});
