import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/index.js';
import { manualClock } from '../helpers/clock.js';

// Seed 003: recording audio 1 per 3 s per tenant (429), and the 5-day egress cap (509).
const AUDIO = { api: 'Get Recording Audio' };
const GB = 1e9;

async function open() {
  const clock = manualClock();
  return { clock, sluice: await Sluice.open({ policy: 'examples/ccaas-recordings.yaml', clock: clock.now }) };
}

describe('examples/ccaas-recordings.yaml', () => {
  it('a second recording download by one tenant within 3 s gets 429 while another tenant passes', async () => {
    const { clock, sluice } = await open();
    expect((await sluice.check({ ...AUDIO, tenant: 'acme' })).allowed).toBe(true);
    clock.advance(2999);
    const second = await sluice.check({ ...AUDIO, tenant: 'acme' });
    expect(second).toMatchObject({ allowed: false, status: 429, rule: 'recording-audio-per-tenant', retryAfterMs: 1 });
    expect((await sluice.check({ ...AUDIO, tenant: 'smallco' })).allowed).toBe(true);
    clock.advance(1);
    expect((await sluice.check({ ...AUDIO, tenant: 'acme' })).allowed).toBe(true);
  });

  it('answers 509 once the bytes over 5 rolling days pass a cap scaled by licensed agents, and frees up as old bytes age out', async () => {
    const { clock, sluice } = await open();
    const tenant = { ...AUDIO, tenant: 'smallco' }; // 2 licensed agents → 5 GB
    const download = async (bytes: number) => {
      const d = await sluice.check(tenant);
      if (d.allowed) await sluice.record(tenant, { status: 200, bytes });
      clock.advance(3000);
      return d;
    };
    // Day 0: 3 GB; day 2: 1.9 GB — 4.9 GB in the window, still allowed.
    expect((await download(3 * GB)).allowed).toBe(true);
    clock.advance(2 * 86_400_000);
    expect((await download(1.9 * GB)).allowed).toBe(true);
    // A download that starts within the cap finishes, even past it...
    const big = await download(0.5 * GB);
    expect(big.allowed).toBe(true);
    // ...and the next request gets 509 with the vendor's text.
    const capped = await sluice.check(tenant);
    expect(capped).toMatchObject({ allowed: false, status: 509, code: 'bandwidth_limit_exceeded', rule: 'recording-egress-5d' });
    expect(capped.message).toContain('Bandwidth Limit Exceeded');
    expect(capped.headers['RateLimit-Policy']).toContain('"recording-egress-5d";q=5000000000;w=432000;qu="content-bytes"');
    // Day 0's 3 GB leave the window 5 days (plus at most one hour-bucket) after they were sent.
    clock.advance(capped.retryAfterMs - 1);
    expect((await sluice.check(tenant)).allowed).toBe(false);
    clock.advance(1);
    expect((await sluice.check(tenant)).allowed).toBe(true);
    expect(capped.retryAfterMs).toBeLessThanOrEqual(3 * 86_400_000 + 3_600_000);
  });

  it('sizes the cap from the tenant’s licensed agents: the store’s attribute wins over the file', async () => {
    const { sluice } = await open();
    const acme = { ...AUDIO, tenant: 'acme' }; // 40 agents in the file → 100 GB
    await sluice.record(acme, { status: 200, bytes: 99 * GB });
    expect((await sluice.check(acme)).allowed).toBe(true);
    await sluice.store.setAttributes('tenant:acme', { licensed_agents: 10 }); // now 25 GB
    expect((await sluice.check(acme)).status).toBe(509);
  });

  it('support can reset a capped tenant', async () => {
    const { clock, sluice } = await open();
    const t = { ...AUDIO, tenant: 'newco' }; // unknown tenant: default 1 agent → 2.5 GB
    await sluice.record(t, { status: 200, bytes: 3 * GB });
    clock.advance(3000);
    expect((await sluice.check(t)).status).toBe(509);
    const keys = sluice.keysFor(t).map((k) => k.key);
    expect(await sluice.store.reset(keys)).toBeGreaterThan(0);
    expect((await sluice.check(t)).allowed).toBe(true);
  });

  it('does not charge the egress cap for failed downloads without bytes', async () => {
    const { sluice } = await open();
    const t = { ...AUDIO, tenant: 'acme' };
    const d = await sluice.record(t, { status: 404, bytes: 0 });
    expect(d.rules).toHaveLength(0);
  });
});
