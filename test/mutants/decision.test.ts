import { describe, expect, it } from 'vitest';
import { Decision } from '../../src/engine/decision.js';
import { loadPolicy } from '../../src/policy/index.js';
import type { OpResult } from '../../src/stores/store.js';

/** Which rule binds a decision, and what the decision then says, case by case. */
const policy = loadPolicy({
  rules: [
    { name: 'a', limit: '10/1m', response: { status: 429, message: 'a says no', code: 'a_no' } },
    { name: 'b', limit: '4/1s', action: 'drop' },
    { name: 'c', limit: '100/1h' },
    { name: 's', limit: '1/1m', shadow: true },
  ],
});
const [A, B, C, S] = policy.rules;
const ok = (limit: number, remaining: number, resetMs = 1000): OpResult => ({ allowed: true, blocked: false, limit, windowMs: 60_000, remaining, resetMs, retryAfterMs: 0 });
const no = (limit: number, retryAfterMs: number, resetMs = 5000): OpResult => ({ allowed: false, blocked: false, limit, windowMs: 60_000, remaining: 0, resetMs, retryAfterMs });
const of = (rules: typeof policy.rules, results: OpResult[], failure?: { message: string; handling: ('open' | 'closed')[] }) =>
  Decision.of(rules, { legacyHeaders: false, results, failure });

describe('the binding rule', () => {
  it('admitted: the rule closest to its limit by share left (not by units left)', () => {
    // a: 3/10 = 0.3 left; b: 2/4 = 0.5 left; c: 20/100 = 0.2 left → c binds, though it has the most units left.
    const d = of([A, B, C], [ok(10, 3, 100), ok(4, 2, 200), ok(100, 20, 300)]);
    expect([d.allowed, d.rule, d.remaining, d.limit, d.resetMs, d.retryAfterMs, d.status, d.action]).toEqual([true, 'c', 20, 100, 300, 0, 200, 'allow']);
    expect([d.message, d.code]).toEqual([undefined, undefined]);
    // A tie keeps the first.
    expect(of([A, B], [ok(10, 5), ok(4, 2)]).rule).toBe('a');
    // A limit of 0 is read as 1 (no division by zero).
    expect(of([A, B], [ok(0, 0), ok(4, 1)]).rule).toBe('a');
    expect(of([A, B], [ok(4, 1), ok(0, 0)]).rule).toBe('b');
  });

  it('refused: the refusing rule that frees up last; admitted rules then never bind', () => {
    const d = of([A, B, C], [no(10, 500), ok(4, 0), no(100, 900)]);
    expect([d.allowed, d.rule, d.retryAfterMs, d.resetMs, d.remaining, d.limit]).toEqual([false, 'c', 900, 5000, 0, 100]);
    expect([d.status, d.message, d.code, d.action]).toEqual([429, 'Too many requests: limit of 100 per 1h reached.', 'rate_limited', 'reject']);
    const e = of([A, B, C], [no(10, 900), no(4, 500), ok(100, 1)]);
    expect([e.rule, e.status, e.message, e.code]).toEqual(['a', 429, 'a says no', 'a_no']);
    // Equal retries: the first refusing rule.
    expect(of([A, B], [no(10, 500), no(4, 500)]).rule).toBe('a');
    // An admitted rule before a refusing one does not bind.
    expect(of([A, B], [ok(10, 0), no(4, 100)]).rule).toBe('b');
    const drop = of([A, B], [ok(10, 9), no(4, 100)]);
    expect([drop.action, drop.status, drop.code]).toEqual(['drop', 202, 'dropped']);
  });

  it('shadow rules never bind, and their refusals are listed', () => {
    const d = of([A, S], [ok(10, 9), no(1, 60_000)]);
    expect([d.allowed, d.rule, d.shadowDenied]).toEqual([true, 'a', ['s']]);
    const only = of([S], [no(1, 60_000)]);
    expect([only.allowed, only.rule, only.limit, only.remaining, only.resetMs, only.retryAfterMs]).toEqual([true, undefined, Infinity, Infinity, 0, 0]);
    expect(only.toJSON()).toMatchObject({ limit: null, remaining: null, shadowDenied: ['s'] });
    expect(of([S], [ok(1, 1)]).shadowDenied).toEqual([]);
    expect('shadowDenied' in of([A], [ok(10, 1)]).toJSON()).toBe(false);
  });

  it('a store failure: closed rules refuse with 503 store_unavailable, open ones are marked fallback', () => {
    const d = of([A, B], [no(10, 100), ok(4, 1)], { message: 'store down', handling: ['closed', 'open'] });
    expect([d.status, d.code, d.message, d.action]).toEqual([503, 'store_unavailable', 'store down', 'reject']);
    expect(d.rules.map((r) => r.fallback)).toEqual([undefined, true]);
    const e = of([A, B], [ok(10, 1), no(4, 100)], { message: 'store down', handling: ['closed', 'open'] });
    expect([e.status, e.code, e.action]).toEqual([202, 'dropped', 'drop']);
  });
});

describe('a lone rule decided in place', () => {
  it('reads its limit and window from the rule, and its retry only when refused', () => {
    const src = { legacyHeaders: false };
    const yes = Decision.lone([A], src, true, 7, 1234, 99, A.params);
    expect([yes.allowed, yes.rule, yes.limit, yes.remaining, yes.resetMs, yes.retryAfterMs, yes.shadowDenied]).toEqual([true, 'a', 10, 7, 1234, 0, []]);
    expect(yes.rules).toEqual([{ name: 'a', allowed: true, shadow: false, blocked: false, limit: 10, windowMs: 60_000, remaining: 7, resetMs: 1234, retryAfterMs: 0 }]);
    const nope = Decision.lone([A], src, false, 0, 1234, 99, A.params);
    expect([nope.retryAfterMs, nope.status, nope.code]).toEqual([99, 429, 'a_no']);
    expect(nope.rules[0]).toMatchObject({ allowed: false, retryAfterMs: 99 });
  });
});

describe('the JSON of a decision', () => {
  it('every field, the rules in order, skipped only when set', () => {
    const d = of([A, B], [ok(10, 3, 100), no(4, 250, 700)]);
    expect(d.toJSON()).toEqual({
      allowed: false,
      action: 'drop',
      rule: 'b',
      status: 202,
      message: 'Accepted but not processed: limit of 4 per 1s reached.',
      code: 'dropped',
      limit: 4,
      remaining: 0,
      resetMs: 700,
      retryAfterMs: 250,
      rules: [
        { name: 'a', allowed: true, shadow: false, blocked: false, limit: 10, windowMs: 60_000, remaining: 3, resetMs: 100, retryAfterMs: 0 },
        { name: 'b', allowed: false, shadow: false, blocked: false, limit: 4, windowMs: 60_000, remaining: 0, resetMs: 700, retryAfterMs: 250 },
      ],
    });
    expect(d.skipped).toBeUndefined();
    d.skippedFrom = () => [{ rule: 'c', reason: 'no_match' }];
    expect(d.toJSON().skipped).toEqual([{ rule: 'c', reason: 'no_match' }]);
    expect(d.headers['retry-after'] ?? d.headers['Retry-After']).toBe('1');
  });
});
