import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { loadPolicyText } from '../../src/policy/index.js';

/** Unmatched traffic is visible: skipped rules and why, on_missing_key, and the skip counts behind the metric. */

const policy = (onMissingKey?: string) =>
  loadPolicyText(`rules:
  - { name: per-tenant, match: { api: Get Recording Audio }, key: [tenant], limit: 2/1m${onMissingKey ? `, on_missing_key: ${onMissingKey}` : ''} }
  - { name: per-account, match: { api: Queue Size }, key: [account], limit: 5/1m }
`);

describe('skipped rules', () => {
  it('says which rules were skipped and why, when nothing matched', async () => {
    const s = await Sluice.open({ policy: policy(), clock: () => 0 });
    const typo = await s.check({ api: 'Get Recording Audoi', tenant: 'acme' });
    expect(typo.allowed).toBe(true);
    expect(typo.skipped).toEqual([
      { rule: 'per-tenant', reason: 'no_match' },
      { rule: 'per-account', reason: 'no_match' },
    ]);
    const keyless = await s.check({ api: 'Get Recording Audio' });
    expect(keyless.skipped).toEqual([
      { rule: 'per-tenant', reason: 'missing_key', missing: ['tenant'] },
      { rule: 'per-account', reason: 'no_match' },
    ]);
    expect(keyless.toJSON().skipped).toEqual(keyless.skipped);
    expect(s.skips.noRule).toBe(2);
    expect(s.skips.missingKey.get('per-tenant')).toBe(1);
  });

  it('reports nothing (and pays nothing) when a rule applied and no key attribute is missing', async () => {
    const s = await Sluice.open({ policy: policy(), clock: () => 0 });
    const d = await s.check({ api: 'Get Recording Audio', tenant: 'acme' });
    expect(d.skipped).toBeUndefined();
    expect(d.toJSON()).not.toHaveProperty('skipped');
    expect(s.checkSync({ api: 'Get Recording Audio', tenant: 'acme' }).skipped).toBeUndefined();
    expect(s.skips.noRule + s.skips.missingKey.size).toBe(0);
  });

  it('lists every rule that does not apply, for inspect', async () => {
    const s = await Sluice.open({ policy: policy(), clock: () => 0 });
    expect(s.skipped({ api: 'Queue Size', account: 'a' })).toEqual([{ rule: 'per-tenant', reason: 'no_match' }]);
  });
});

describe('on_missing_key', () => {
  it('skip (the default) admits a keyless request without charging anyone', async () => {
    const s = await Sluice.open({ policy: policy(), clock: () => 0 });
    for (let i = 0; i < 5; i++) expect((await s.check({ api: 'Get Recording Audio' })).allowed).toBe(true);
  });

  it('reject refuses with 400 naming the missing attribute, and charges nothing', async () => {
    const s = await Sluice.open({ policy: policy('reject'), clock: () => 0 });
    const d = await s.check({ api: 'Get Recording Audio' });
    expect(d).toMatchObject({ allowed: false, status: 400, code: 'missing_key_attribute', rule: 'per-tenant' });
    expect(d.message).toMatch(/"tenant"/);
    expect(s.checkSync({ api: 'Get Recording Audio' }).status).toBe(400);
    // with the key, the full limit is still there
    expect((await s.check({ api: 'Get Recording Audio', tenant: 'acme' })).remaining).toBe(1);
  });

  it('a front door default of reject applies to rules that do not say, and never to rules that say skip', async () => {
    const s = await Sluice.open({ policy: policy(), clock: () => 0 });
    expect((await s.check({ api: 'Get Recording Audio' }, { onMissingKey: 'reject' })).status).toBe(400);
    const explicit = await Sluice.open({ policy: policy('skip'), clock: () => 0 });
    expect((await explicit.check({ api: 'Get Recording Audio' }, { onMissingKey: 'reject' })).allowed).toBe(true);
  });

  it('shared counts every keyless request in one bucket, apart from every real key', async () => {
    const s = await Sluice.open({ policy: policy('shared'), clock: () => 0 });
    expect((await s.check({ api: 'Get Recording Audio' })).allowed).toBe(true);
    expect((await s.check({ api: 'Get Recording Audio', tenant: '' })).allowed).toBe(true);
    expect((await s.check({ api: 'Get Recording Audio' })).allowed).toBe(false);
    expect(s.checkSync({ api: 'Get Recording Audio' }).allowed).toBe(false);
    // a tenant literally named "undefined" or "" never lands in the shared bucket
    expect((await s.check({ api: 'Get Recording Audio', tenant: 'undefined' })).allowed).toBe(true);
    expect((await s.check({ api: 'Get Recording Audio', tenant: 'acme' })).remaining).toBe(1);
    expect(s.keysFor({ api: 'Get Recording Audio' })).toEqual([{ rule: 'per-tenant', key: 'per-tenant|' }]);
  });
});
