import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, parseLimit, parseSize, UnitError } from '../../src/policy/units.js';

/**
 * The policy language's units, every spelling and every refusal, with the expected values worked
 * out by hand from the unit table (1 m = 60,000 ms, 1 KiB = 1024 B, 1 KB = 1000 B).
 */
describe('durations', () => {
  it('every unit name means its length, alone or after a number', () => {
    const table: [string, number][] = [
      ['ms', 1], ['s', 1000], ['sec', 1000], ['secs', 1000], ['second', 1000], ['seconds', 1000],
      ['m', 60_000], ['min', 60_000], ['mins', 60_000], ['minute', 60_000], ['minutes', 60_000],
      ['h', 3_600_000], ['hr', 3_600_000], ['hour', 3_600_000], ['hours', 3_600_000],
      ['d', 86_400_000], ['day', 86_400_000], ['days', 86_400_000],
      ['w', 604_800_000], ['week', 604_800_000], ['weeks', 604_800_000],
    ];
    for (const [unit, ms] of table) {
      expect(parseDuration(unit), unit).toBe(ms);
      expect(parseDuration(`2${unit}`), `2${unit}`).toBe(2 * ms);
    }
  });

  it('case, surrounding space and space between parts do not matter; parts add up', () => {
    expect(parseDuration('  MINUTE ')).toBe(60_000);
    expect(parseDuration('1H 30M')).toBe(5_400_000);
    expect(parseDuration(' 2 h 5 s ')).toBe(7_205_000);
    expect(parseDuration('1w1d1h1m1s1ms')).toBe(604_800_000 + 86_400_000 + 3_600_000 + 60_000 + 1000 + 1);
  });

  it('fractions are allowed and round to the nearest millisecond', () => {
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('0.5ms')).toBe(1); // Math.round(0.5)
    expect(parseDuration('0.4ms')).toBe(0);
    expect(parseDuration('2.25m')).toBe(135_000);
  });

  it('refuses empty text, unknown units, a bare number and trailing junk, naming the text', () => {
    expect(() => parseDuration('')).toThrow(new UnitError('empty duration'));
    expect(() => parseDuration('   ')).toThrow(new UnitError('empty duration'));
    expect(() => parseDuration('3 fortnights')).toThrow(new UnitError('unknown time unit "fortnights" in "3 fortnights" (use ms, s, m, h, d or w)'));
    expect(() => parseDuration('60')).toThrow(new UnitError('"60" is not a duration (write it like 3s, 1m, 8h, 5d or 1h30m)'));
    expect(() => parseDuration('5m!')).toThrow(new UnitError('"5m!" is not a duration (write it like 3s, 1m, 8h, 5d or 1h30m)'));
    expect(() => parseDuration('x5m')).toThrow(/is not a duration/);
    expect(() => parseDuration('-5m')).toThrow(/is not a duration/);
    expect(() => parseDuration('5m 3')).toThrow(/is not a duration/);
  });
});

describe('sizes', () => {
  it('decimal units are powers of 1000, binary units of 1024, any case, with or without a space', () => {
    const table: [string, number][] = [
      ['1b', 1], ['2KB', 2000], ['3mb', 3_000_000], ['4GB', 4_000_000_000], ['5tb', 5e12],
      ['1KiB', 1024], ['1mib', 1_048_576], ['1GiB', 1_073_741_824], ['1TiB', 1_099_511_627_776],
      [' 7 MB ', 7_000_000],
    ];
    for (const [text, bytes] of table) expect(parseSize(text), text).toBe(bytes);
  });

  it('a plain number is units; a number passes through; fractions round to whole bytes', () => {
    expect(parseSize('1200')).toBe(1200);
    expect(parseSize('2.5')).toBe(2.5);
    expect(parseSize(42)).toBe(42);
    expect(parseSize('1.5KB')).toBe(1500);
    expect(parseSize('0.0015KB')).toBe(2); // 1.5 bytes rounds up
    expect(parseSize('0')).toBe(0);
  });

  it('refuses negative amounts, unknown units and words, naming the text', () => {
    expect(() => parseSize('-1')).toThrow(new UnitError('"-1" is negative: an amount must be 0 or more'));
    expect(() => parseSize('-0.5KB')).toThrow(/is negative/);
    expect(() => parseSize('3 parsecs')).toThrow(new UnitError('unknown size unit "parsecs" in "3 parsecs" (use B, KB, MB, GB, TB, KiB, MiB, GiB)'));
    expect(() => parseSize('lots')).toThrow(new UnitError('"lots" is not a size (write it like 10MB, 25MiB or 5000)'));
    expect(() => parseSize('5 MB extra')).toThrow(/is not a size/);
    expect(() => parseSize('x5MB')).toThrow(/is not a size/);
    expect(() => parseSize('')).toThrow(/is not a size/);
  });
});

describe('limits', () => {
  it('"amount/window" and "amount per window", amounts with or without a byte unit', () => {
    expect(parseLimit('60/1m')).toEqual({ limit: 60, windowMs: 60_000, bytes: false });
    expect(parseLimit(' 60 / 1m ')).toEqual({ limit: 60, windowMs: 60_000, bytes: false });
    expect(parseLimit('3 per 3m')).toEqual({ limit: 3, windowMs: 180_000, bytes: false });
    expect(parseLimit('10 MB per day')).toEqual({ limit: 10_000_000, windowMs: 86_400_000, bytes: true });
    expect(parseLimit('0/1s')).toEqual({ limit: 0, windowMs: 1000, bytes: false });
    expect(parseLimit('1KiB/1h30m')).toEqual({ limit: 1024, windowMs: 5_400_000, bytes: true });
  });

  it('refuses text without a separator, an empty window and a zero window', () => {
    expect(() => parseLimit('60')).toThrow(new UnitError('"60" is not a limit (write it like 60/1m, 1/3s or 5GB/5d)'));
    expect(() => parseLimit('/1m')).toThrow(/is not a limit/);
    expect(() => parseLimit('/5/1m')).toThrow(/is not a limit/);
    expect(() => parseLimit('60/')).toThrow(/is not a limit/);
    expect(() => parseLimit('60/0s')).toThrow(new UnitError('the window in "60/0s" must be longer than zero'));
    expect(() => parseLimit('60/0.4ms')).toThrow(/must be longer than zero/);
    expect(() => parseLimit('-5/1m')).toThrow(/is negative/);
  });

  it('refuses an amount that is not finite', () => {
    expect(() => parseLimit(`${'9'.repeat(400)}/1m`)).toThrow(new UnitError(`the amount in "${'9'.repeat(400)}/1m" must be a number ≥ 0`));
  });
});

describe('formatting a duration', () => {
  it('uses the largest unit that divides it exactly, else milliseconds', () => {
    expect(formatDuration(604_800_000)).toBe('1w');
    expect(formatDuration(2 * 604_800_000)).toBe('2w');
    expect(formatDuration(432_000_000)).toBe('5d');
    expect(formatDuration(86_400_000)).toBe('1d');
    expect(formatDuration(3_600_000)).toBe('1h');
    expect(formatDuration(5_400_000)).toBe('90m');
    expect(formatDuration(60_000)).toBe('1m');
    expect(formatDuration(3000)).toBe('3s');
    expect(formatDuration(1000)).toBe('1s');
    expect(formatDuration(1500)).toBe('1500ms');
    expect(formatDuration(999)).toBe('999ms');
    expect(formatDuration(0)).toBe('0ms');
  });
});
