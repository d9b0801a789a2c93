/**
 * The store contract: one suite, run against every store (memory, sqlite, redis single
 * node, redis cluster). Scenarios go through the real engine (Sluice.open) with the seed
 * example policies and an injected clock (the Redis stores are opened with clock: 'client',
 * the explicit-now hook; server time is covered by the Redis suites).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Sluice } from '../../src/engine/sluice.js';
import { stateKeyFor } from '../../src/engine/keys.js';
import type { Store, TxOp } from '../../src/stores/store.js';

export const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

export interface StoreFactory {
  /** A fresh, empty store (state isolated from other tests). */
  (): Promise<Store>;
}

const MIN = 60_000;
const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);

class FakeClock {
  t = T0;
  readonly now = () => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

async function open(factory: StoreFactory, policy: string): Promise<{ sluice: Sluice; clock: FakeClock; store: Store }> {
  const store = await factory();
  const clock = new FakeClock();
  const sluice = await Sluice.open({ policy: policy.includes('\n') ? policy : EXAMPLES + policy, store, clock: clock.now });
  return { sluice, clock, store };
}

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`store contract: ${name}`, () => {
    it('picky-assist: more than 3 failed logins in 3 minutes disables login for 15 minutes', async () => {
      const { sluice, clock } = await open(factory, 'picky-assist.yaml');
      try {
        const bob = { api: 'Login', user: 'bob' };
        for (let i = 0; i < 3; i++) {
          expect((await sluice.check(bob)).allowed).toBe(true);
          await sluice.record(bob, { status: 401, success: false });
          clock.advance(10_000);
        }
        expect((await sluice.check(bob)).allowed).toBe(true);
        await sluice.record(bob, { status: 401, success: false }); // the 4th failure trips the block
        const d = await sluice.check(bob);
        expect(d.allowed).toBe(false);
        expect(d.code).toBe('login_disabled');
        expect(d.retryAfterMs).toBe(15 * MIN);
        expect((await sluice.check({ api: 'Login', user: 'alice' })).allowed).toBe(true);
        clock.advance(15 * MIN - 1);
        expect((await sluice.check(bob)).allowed).toBe(false);
        clock.advance(1);
        expect((await sluice.check(bob)).allowed).toBe(true);
      } finally {
        await sluice.close();
      }
    });

    it('picky-assist: 2 signups per IP per 8 hours, then reset by admin', async () => {
      const { sluice, clock, store } = await open(factory, 'picky-assist.yaml');
      try {
        const ip = { api: 'Signup', ip: '203.0.113.7' };
        expect((await sluice.check(ip)).allowed).toBe(true);
        clock.advance(3600_000);
        expect((await sluice.check(ip)).allowed).toBe(true);
        const third = await sluice.check(ip);
        expect(third.allowed).toBe(false);
        expect(third.status).toBe(429);
        expect(third.retryAfterMs).toBe(7 * 3600_000);
        expect((await sluice.check({ api: 'Signup', ip: '203.0.113.8' })).allowed).toBe(true);
        clock.advance(7 * 3600_000);
        expect((await sluice.check(ip)).allowed).toBe(true);
        expect((await sluice.check(ip)).allowed).toBe(false);
        const keys = sluice.keysFor(ip).map((k) => k.key);
        expect(await store.reset(keys)).toBe(1);
        expect((await sluice.check(ip)).allowed).toBe(true);
        expect(await store.reset(['no-such-rule|x'])).toBe(0);
      } finally {
        await sluice.close();
      }
    });

    it('picky-assist: the bot-loop breaker blocks the contact (every question) for a minute', async () => {
      const { sluice, clock } = await open(factory, 'picky-assist.yaml');
      try {
        const q1 = { event: 'smart-reply', contact: '+15550001', question: 'hours?' };
        const q2 = { event: 'smart-reply', contact: '+15550001', question: 'price?' };
        for (let i = 0; i < 5; i++) expect((await sluice.check(q1)).allowed).toBe(true);
        const sixth = await sluice.check(q1);
        expect(sixth.allowed).toBe(false);
        expect(sixth.action).toBe('drop');
        clock.advance(1000);
        const other = await sluice.check(q2);
        expect(other.allowed).toBe(false);
        expect(other.rules[0].blocked).toBe(true);
        expect((await sluice.check({ ...q1, contact: '+15550002' })).allowed).toBe(true);
        clock.advance(MIN);
        expect((await sluice.check(q2)).allowed).toBe(true);
      } finally {
        await sluice.close();
      }
    });

    it('ccaas: one recording audio request per 3 s per tenant; tenants independent', async () => {
      const { sluice, clock } = await open(factory, 'ccaas-recordings.yaml');
      try {
        const acme = { api: 'Get Recording Audio', tenant: 'acme' };
        expect((await sluice.check(acme)).allowed).toBe(true);
        clock.advance(1000);
        const d = await sluice.check(acme);
        expect(d.allowed).toBe(false);
        expect(d.status).toBe(429);
        expect(d.retryAfterMs).toBe(2000);
        expect((await sluice.check({ ...acme, tenant: 'smallco' })).allowed).toBe(true);
        clock.advance(2000);
        expect((await sluice.check(acme)).allowed).toBe(true);
      } finally {
        await sluice.close();
      }
    });

    it('ccaas: the 5-day egress cap scales with licensed agents (store attribute wins), answers 509, and resets', async () => {
      const { sluice, clock, store } = await open(factory, 'ccaas-recordings.yaml');
      try {
        const small = { api: 'Get Recording Audio', tenant: 'smallco' }; // 2 licensed agents in the file: 5 GB
        const GB = 1e9;
        expect((await sluice.check(small)).allowed).toBe(true);
        await sluice.record(small, { status: 200, bytes: 4 * GB });
        clock.advance(3000);
        expect((await sluice.check(small)).allowed).toBe(true);
        await sluice.record(small, { status: 200, bytes: 1 * GB });
        clock.advance(3000);
        const full = await sluice.check(small);
        expect(full.allowed).toBe(false);
        expect(full.status).toBe(509);
        expect(full.code).toBe('bandwidth_limit_exceeded');
        // Support licenses more agents: the store's attribute wins over the file.
        await store.setAttributes('tenant:smallco', { licensed_agents: 4 });
        expect(await store.getAttributes('tenant:smallco')).toEqual({ licensed_agents: 4 });
        const more = await sluice.check(small);
        expect(more.allowed).toBe(true);
        const egress = more.rules.find((r) => r.name === 'recording-egress-5d')!;
        expect(egress.limit).toBe(10 * GB);
        expect(egress.remaining).toBe(5 * GB);
        await store.setAttributes('tenant:smallco', { licensed_agents: null });
        expect(await store.getAttributes('tenant:smallco')).toEqual({});
        clock.advance(3000);
        expect((await sluice.check(small)).status).toBe(509);
        // Support resets the tenant's usage.
        const keys = sluice.keysFor(small).map((k) => k.key);
        expect(await store.reset(keys)).toBeGreaterThanOrEqual(1);
        clock.advance(3000);
        expect((await sluice.check(small)).allowed).toBe(true);
        // Usage leaves the window after five days (to one bucket).
        await sluice.record(small, { status: 200, bytes: 5 * GB });
        clock.advance(3000);
        expect((await sluice.check(small)).allowed).toBe(false);
        clock.advance(5 * 24 * 3600_000 + 3600_000);
        expect((await sluice.check(small)).allowed).toBe(true);
      } finally {
        await sluice.close();
      }
    });

    it('overrides: a run-time override wins over the rule and the policy file, and can be removed', async () => {
      const { sluice, clock, store } = await open(factory, 'contact-center-ai.yaml');
      try {
        const rule = sluice.policy.ruleByName.get('account-per-minute')!;
        const beta = { api: 'Get Campaign Status', account: 'beta' };
        const key = stateKeyFor(rule, { account: 'beta' });
        await store.setOverride({ key, rule: rule.name, keyValues: { account: 'beta' }, limit: 2, windowMs: MIN, reason: 'test', by: 'ops' });
        expect(await store.listOverrides()).toEqual([{ key, rule: rule.name, keyValues: { account: 'beta' }, limit: 2, windowMs: MIN, reason: 'test', by: 'ops' }]);
        expect((await sluice.check(beta)).allowed).toBe(true);
        expect((await sluice.check(beta)).allowed).toBe(true);
        const d = await sluice.check(beta);
        expect(d.allowed).toBe(false);
        expect(d.limit).toBe(2);
        expect(d.message).toBe("You've exceeded the per-minute rate limit. Please wait for sometime before retrying.");
        expect(await store.deleteOverride(key)).toBe(true);
        expect(await store.deleteOverride(key)).toBe(false);
        expect(await store.listOverrides()).toEqual([]);
        const back = await sluice.check(beta);
        expect(back.allowed).toBe(true);
        expect(back.limit).toBe(60);
        // The policy file's override: 300/min for acme-enterprise.
        const ent = { api: 'Get Campaign Status', account: 'acme-enterprise' };
        for (let i = 0; i < 60; i++) await sluice.check(ent);
        const d61 = await sluice.check(ent);
        expect(d61.allowed).toBe(true);
        expect(d61.limit).toBe(300);
        // An expiring run-time override stops applying at its expiry.
        await store.setOverride({ key, rule: rule.name, keyValues: { account: 'beta' }, limit: 1000, windowMs: MIN, expiresAt: clock.now() + 5000 });
        expect((await sluice.check(beta)).limit).toBe(1000);
        clock.advance(5000);
        expect((await sluice.check(beta)).limit).toBe(60);
      } finally {
        await sluice.close();
      }
    });

    const pairPolicy = (bKey: string) => `
version: 1
rules:
  - name: per-account
    key: [account]
    limit: 5/1m
  - name: per-second-key
    match: { api: limited }
    key: [${bKey}]
    limit: 2/1m
`;
    for (const [label, bKey] of [
      ['rules keyed on different values (different hash tags)', 'user'],
      ['rules keyed on the same values (one hash tag)', 'account'],
    ] as const) {
      it(`all-or-nothing across rules: ${label}`, async () => {
        const { sluice } = await open(factory, pairPolicy(bKey));
        try {
          const s = (user: string) => ({ account: 'a1', user, api: 'limited' });
          expect((await sluice.check(s('u1'))).allowed).toBe(true);
          expect((await sluice.check(s('u1'))).allowed).toBe(true);
          const d = await sluice.check(s('u1'));
          expect(d.allowed).toBe(false);
          expect(d.rule).toBe('per-second-key');
          const perAccount = d.rules.find((r) => r.name === 'per-account')!;
          expect(perAccount.allowed).toBe(true);
          // The refused request charged nothing: per-account had 2 of 5 used, and this check makes 3.
          const only = await sluice.check({ account: 'a1', user: 'u9' });
          expect(only.allowed).toBe(true);
          expect(only.rules.map((r) => [r.name, r.remaining])).toEqual([['per-account', 2]]);
          if (bKey === 'user') {
            expect((await sluice.check(s('u2'))).allowed).toBe(true);
            expect((await sluice.check(s('u3'))).allowed).toBe(true);
            const e = await sluice.check(s('u4'));
            expect(e.allowed).toBe(false);
            expect(e.rule).toBe('per-account');
            // …and per-second-key for u4 was not charged by that refusal.
            expect((await sluice.check({ account: 'a2', user: 'u4', api: 'limited' })).rules.find((r) => r.name === 'per-second-key')!.remaining).toBe(1);
          }
        } finally {
          await sluice.close();
        }
      });
    }

    it('key values are data: lone surrogates, %, |, braces, control characters and 1,024 chars each count apart, losslessly', async () => {
      const { sluice, store } = await open(factory, 'picky-assist.yaml');
      try {
        const values = ['a%\ud800', 'a%\ud801', 'a%\udc00', 'a\ud800', 'a%25', 'a%7C', 'a|b', 'a%7Cb', '{a}', 'a}', '\u0000\n\t\u007f', '%u0041', 'A', 'x'.repeat(1024), '😀'];
        const subject = (contact: string, question = 'q') => ({ event: 'smart-reply', contact, question });
        // Each value gets its own 5 per minute (composite key) and its own contact block.
        for (const v of values) for (let i = 0; i < 5; i++) expect((await sluice.check(subject(v))).allowed, `${JSON.stringify(v)} #${i}`).toBe(true);
        for (const v of values) expect((await sluice.check(subject(v))).allowed, JSON.stringify(v)).toBe(false);
        // One-value keys (the auto-reply rule keys on contact alone) are apart too.
        const once = (contact: string) => ({ event: 'offline-reply', contact });
        for (const v of values) expect((await sluice.check(once(v))).allowed, JSON.stringify(v)).toBe(true);
        for (const v of values) expect((await sluice.check(once(v))).allowed, JSON.stringify(v)).toBe(false);
        const onceKeys = values.map((v) => sluice.keysFor(once(v))[0].key);
        expect(new Set(onceKeys).size).toBe(values.length);
        expect(await store.reset([onceKeys[0]])).toBe(1);
        expect((await sluice.check(once(values[0]))).allowed).toBe(true);
        // Admin reset finds exactly the state the checks wrote.
        const keys = sluice.keysFor(subject(values[0])).flatMap((k) => (k.blockKey ? [k.key, k.blockKey] : [k.key]));
        expect(await store.reset(keys)).toBeGreaterThanOrEqual(1);
        expect((await sluice.check(subject(values[0]))).allowed).toBe(true);
        expect((await sluice.check(subject(values[1]))).allowed).toBe(false);
      } finally {
        await sluice.close();
      }
    });

    it('raw transactions: refused takes leave state unchanged; force and refund always apply', async () => {
      const store = await factory();
      try {
        const params = { limit: 3, windowMs: MIN };
        const op = (key: string, mode: TxOp['mode'], cost = 1, extra: Partial<TxOp> = {}): TxOp => ({
          key,
          tag: key.slice(key.indexOf('|') + 1),
          algorithm: 'sliding-log',
          params,
          cost,
          mode,
          shadow: false,
          chargeRejected: false,
          blockMs: 0,
          blockOnly: false,
          ...extra,
        });
        const now = T0;
        const a = await store.apply([op('r1|x', 'take', 2), op('r2|y', 'take', 2)], now);
        expect(a.map((r) => r.allowed)).toEqual([true, true]);
        const b = await store.apply([op('r1|x', 'take', 1), op('r2|y', 'take', 2)], now + 1);
        expect(b.map((r) => r.allowed)).toEqual([true, false]);
        const peek = await store.apply([op('r1|x', 'peek'), op('r2|y', 'peek')], now + 2);
        expect(peek.map((r) => r.remaining)).toEqual([1, 1]);
        // chargeRejected charges even a refused transaction.
        await store.apply([op('r1|x', 'take', 1, { chargeRejected: true }), op('r2|y', 'take', 5)], now + 3);
        expect((await store.apply([op('r1|x', 'peek')], now + 4))[0].remaining).toBe(0);
        // shadow ops never refuse the transaction.
        const sh = await store.apply([op('r1|x', 'take', 1, { shadow: true }), op('r3|z', 'take')], now + 5);
        expect(sh.map((r) => r.allowed)).toEqual([false, true]);
        await store.apply([op('r1|x', 'refund', 3)], now + 6);
        expect((await store.apply([op('r1|x', 'peek')], now + 7))[0].remaining).toBe(3);
        const f = await store.apply([op('r2|y', 'force', 5)], now + 8);
        expect(f[0].allowed).toBe(false);
        expect((await store.apply([op('r2|y', 'peek')], now + 9))[0].remaining).toBe(0);
        expect(await store.size()).toBeGreaterThanOrEqual(2);
        await store.ping();
      } finally {
        await store.close();
      }
    });
  });
}
