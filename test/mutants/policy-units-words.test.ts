import { describe, expect, it } from 'vitest';
import { parseLimit, UnitError } from '../../src/policy/units.js';

/**
 * Limits as vendors' pages write them (src/policy/units.ts): a count noun after the amount
 * ("90 requests per minute") and thousands separators ("10,000/1d") are read; anything close
 * but not quite is refused, naming what was not understood.
 */
const read = (text: string) => {
  const { limit, windowMs, bytes } = parseLimit(text);
  return [limit, windowMs, bytes];
};

describe('count nouns', () => {
  it('each noun, singular or plural, any case, after a space, is left out of the amount', () => {
    const nouns = ['request', 'requests', 'req', 'reqs', 'call', 'calls', 'hit', 'hits', 'event', 'events', 'message', 'messages', 'reply', 'replies', 'login', 'logins', 'signup', 'signups', 'attempt', 'attempts', 'REQUESTS', 'Replies'];
    for (const noun of nouns) expect(read(`7 ${noun} per minute`), noun).toEqual([7, 60_000, false]);
    expect(read('90 requests per minute')).toEqual([90, 60_000, false]);
    expect(read('1 reply in 1 hour')).toEqual([1, 3_600_000, false]);
    expect(read('5  hits/1s')).toEqual([5, 1000, false]);
  });

  it('a noun not after a space, or not at the end of the amount, is not a count noun', () => {
    expect(() => parseLimit('2requests/1m')).toThrow(new UnitError('unknown size unit "requests" in "2requests" (use B, KB, MB, GB, TB, KiB, MiB, GiB)'));
    expect(() => parseLimit('2 requests extra/1m')).toThrow(new UnitError('"2 requests extra" is not a size (write it like 10MB, 25MiB or 5000)'));
    expect(() => parseLimit('2 repl/1m')).toThrow(new UnitError('unknown size unit "repl" in "2 repl" (use B, KB, MB, GB, TB, KiB, MiB, GiB)'));
    expect(() => parseLimit('2 xrequests/1m')).toThrow(new UnitError('unknown size unit "xrequests" in "2 xrequests" (use B, KB, MB, GB, TB, KiB, MiB, GiB)'));
  });
});

describe('thousands separators', () => {
  it('groups of three digits after one to three leading digits, with an optional fraction', () => {
    expect(read('10,000/1d')).toEqual([10_000, 86_400_000, false]);
    expect(read('1,000/1d')).toEqual([1000, 86_400_000, false]);
    expect(read('999,999/1d')).toEqual([999_999, 86_400_000, false]);
    expect(read('1,000,000 per day')).toEqual([1_000_000, 86_400_000, false]);
    expect(read('1,000.5/1m')).toEqual([1000.5, 60_000, false]);
    expect(read('1,000.25/1m')).toEqual([1000.25, 60_000, false]);
    expect(read('1,000 requests per hour')).toEqual([1000, 3_600_000, false]);
  });

  it('anything else with a comma is not a number', () => {
    for (const amount of ['1,0000', '1,00', '1234,000', ',000', '1,000,', '1,000.', '1,000.5.5', 'x1,000', '1,000x']) {
      expect(() => parseLimit(`${amount}/1m`), amount).toThrow(UnitError);
    }
    expect(() => parseLimit('1234,000/1m')).toThrow(new UnitError('"1234,000" is not a size (write it like 10MB, 25MiB or 5000)'));
  });
});

describe('the separator between amount and window', () => {
  it('"/" with any spaces, or "per" / "in" between spaces', () => {
    expect(read('5 in 1h')).toEqual([5, 3_600_000, false]);
    expect(read('5  per  1h')).toEqual([5, 3_600_000, false]);
    expect(read('5/ 1h')).toEqual([5, 3_600_000, false]);
    expect(read('\t5\tper\t1h\t')).toEqual([5, 3_600_000, false]);
    expect(() => parseLimit('5 per1h')).toThrow(new UnitError('"5 per1h" is not a limit (write it like 60/1m, 1/3s or 5GB/5d)'));
    expect(() => parseLimit('5per 1h')).toThrow(/is not a limit/);
    expect(() => parseLimit('5 in1h')).toThrow(/is not a limit/);
    expect(() => parseLimit('5 within 1h')).toThrow(/is not a limit/);
  });
});
