import { describe, expect, it } from 'vitest';
import { parseRateLimitHeaders, parseResetValue, parseRetryAfter } from '../../src/client/index.js';
import { parseDictionary, parseList, SfToken } from '../../src/client/structured-fields.js';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const h = (init: Record<string, string>) => new Headers(init);

describe('structured field lists', () => {
  it('parses strings, tokens, numbers and params', () => {
    const list = parseList('"a";q=100;w=60, b;r=0.5, 7;flag, ?1, :aGk=:');
    expect(list).toBeDefined();
    expect(list![0].value).toBe('a');
    expect(list![0].params.get('q')).toBe(100);
    expect(list![1].value).toBeInstanceOf(SfToken);
    expect(String(list![1].value)).toBe('b');
    expect(list![1].params.get('r')).toBe(0.5);
    expect(list![2].value).toBe(7);
    expect(list![2].params.get('flag')).toBe(true);
    expect(list![3].value).toBe(true);
    expect(Buffer.from(list![4].value as ArrayBuffer).toString()).toBe('hi');
  });

  it('handles escapes, inner lists and empty input', () => {
    expect(parseList('"say \\"hi\\""')![0].value).toBe('say "hi"');
    const inner = parseList('(a b);x=1, c')!;
    expect((inner[0].value as unknown[]).length).toBe(2);
    expect(parseList('')).toEqual([]);
    expect(parseList(null)).toBeUndefined();
  });

  it('rejects malformed fields entirely', () => {
    expect(parseList('"unterminated')).toBeUndefined();
    expect(parseList('a, ')).toBeUndefined();
    expect(parseList('a;=1')).toBeUndefined();
    expect(parseList('a b')).toBeUndefined();
  });

  it('parses dictionaries', () => {
    const d = parseDictionary('limit=10, remaining=3, reset=7, flag')!;
    expect(d.get('limit')!.value).toBe(10);
    expect(d.get('flag')!.value).toBe(true);
  });
});

describe('IETF draft-10 RateLimit / RateLimit-Policy', () => {
  it('joins the current state with its named policy (quoted names)', () => {
    const info = parseRateLimitHeaders(
      h({ 'RateLimit-Policy': '"default";q=100;w=60', RateLimit: '"default";r=50;t=30' }),
      NOW,
    );
    expect(info).toEqual({ policy: 'default', limit: 100, windowMs: 60_000, remaining: 50, resetMs: 30_000 });
  });

  it('accepts token names', () => {
    const info = parseRateLimitHeaders(h({ 'RateLimit-Policy': 'burst;q=10;w=1', RateLimit: 'burst;r=2;t=1' }), NOW);
    expect(info).toEqual({ policy: 'burst', limit: 10, windowMs: 1000, remaining: 2, resetMs: 1000 });
  });

  it('picks the most restrictive of several items and ignores qu/pk/unknown params', () => {
    const info = parseRateLimitHeaders(
      h({
        'RateLimit-Policy': '"burst";q=100;w=60;qu="requests", "daily";q=1000;w=86400;pk=:dXNlcjE=:;future=?1',
        RateLimit: '"burst";r=90;t=30, "daily";r=10;t=3600;pk=:dXNlcjE=:',
      }),
      NOW,
    );
    // daily leaves 360 s per remaining request, burst only 0.33 s: daily governs.
    expect(info).toMatchObject({ policy: 'daily', limit: 1000, remaining: 10, resetMs: 3_600_000, windowMs: 86_400_000 });
  });

  it('prefers an exhausted item, and the longest reset among exhausted ones', () => {
    const info = parseRateLimitHeaders(h({ RateLimit: '"a";r=5;t=1, "b";r=0;t=10, "c";r=0;t=20' }), NOW);
    expect(info).toEqual({ policy: 'c', remaining: 0, resetMs: 20_000 });
  });

  it('skips policies measured in other units than requests', () => {
    const info = parseRateLimitHeaders(
      h({
        'RateLimit-Policy': '"bytes";q=1000000;w=60;qu="content-bytes", "reqs";q=50;w=60',
        RateLimit: '"bytes";r=0;t=50, "reqs";r=40;t=50',
      }),
      NOW,
    );
    expect(info).toMatchObject({ policy: 'reqs', remaining: 40 });
  });

  it('reads a policy alone as limit and window', () => {
    expect(parseRateLimitHeaders(h({ 'RateLimit-Policy': '"p";q=20;w=2' }), NOW)).toEqual({
      policy: 'p',
      limit: 20,
      windowMs: 2000,
    });
  });

  it('pairs an unnamed older-draft policy with the current state, but never mismatched names', () => {
    const unnamed = parseRateLimitHeaders(h({ 'RateLimit-Policy': '100;w=60', RateLimit: '"x";r=3;t=4' }), NOW);
    expect(unnamed).toEqual({ policy: 'x', limit: 100, windowMs: 60_000, remaining: 3, resetMs: 4000 });
    const mismatched = parseRateLimitHeaders(h({ 'RateLimit-Policy': '"a";q=100;w=60', RateLimit: '"b";r=3;t=4' }), NOW);
    expect(mismatched).toEqual({ policy: 'b', remaining: 3, resetMs: 4000 });
  });
});

describe('older drafts and legacy headers', () => {
  it('reads the combined dictionary form', () => {
    expect(parseRateLimitHeaders(h({ RateLimit: 'limit=100, remaining=50, reset=30' }), NOW)).toEqual({
      limit: 100,
      remaining: 50,
      resetMs: 30_000,
    });
  });

  it('reads RateLimit-Limit/Remaining/Reset including quota policies', () => {
    const info = parseRateLimitHeaders(
      h({ 'RateLimit-Limit': '10, 10;w=1, 50;w=60', 'RateLimit-Remaining': '4', 'RateLimit-Reset': '1' }),
      NOW,
    );
    expect(info).toEqual({ limit: 10, windowMs: 1000, remaining: 4, resetMs: 1000 });
  });

  it('reads X-RateLimit-* with a delta reset', () => {
    const info = parseRateLimitHeaders(
      h({ 'X-RateLimit-Limit': '60', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '42' }),
      NOW,
    );
    expect(info).toEqual({ limit: 60, remaining: 0, resetMs: 42_000 });
  });

  it('treats a reset above 10^9 as a Unix epoch in seconds', () => {
    const epoch = NOW / 1000 + 90;
    const info = parseRateLimitHeaders(h({ 'X-RateLimit-Reset': String(epoch), 'X-RateLimit-Remaining': '0' }), NOW);
    expect(info.resetMs).toBe(90_000);
    // A reset epoch already in the past means "now", never a negative wait.
    expect(parseResetValue(NOW / 1000 - 5, NOW)).toBe(0);
    expect(parseResetValue(1e9, NOW)).toBe(1e12); // exactly 10^9 is still a delta
    expect(parseResetValue(NOW + 5000, NOW)).toBe(5000); // epoch milliseconds
    expect(parseResetValue(-1, NOW)).toBeUndefined();
  });

  it('prefers the newest dialect when several are present', () => {
    const info = parseRateLimitHeaders(
      h({ RateLimit: '"n";r=1;t=2', 'X-RateLimit-Remaining': '99', 'X-RateLimit-Reset': '50' }),
      NOW,
    );
    expect(info).toEqual({ policy: 'n', remaining: 1, resetMs: 2000 });
  });

  it('returns an empty object when there is nothing to read', () => {
    expect(parseRateLimitHeaders(h({ 'content-type': 'text/plain' }), NOW)).toEqual({});
    expect(parseRateLimitHeaders(h({ RateLimit: 'garbage (' }), NOW)).toEqual({});
  });
});

describe('Retry-After', () => {
  it('parses delta seconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRateLimitHeaders(h({ 'Retry-After': '3' }), NOW)).toEqual({ retryAfterMs: 3000 });
  });

  it('parses an HTTP date relative to now', () => {
    const date = new Date(NOW + 45_000).toUTCString(); // IMF-fixdate, e.g. "Wed, 15 Jan 2025 12:00:45 GMT"
    expect(parseRetryAfter(date, NOW)).toBe(45_000);
    expect(parseRetryAfter(new Date(NOW - 45_000).toUTCString(), NOW)).toBe(0);
  });

  it('ignores junk', () => {
    expect(parseRetryAfter('-5', NOW)).toBeUndefined();
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter('', NOW)).toBeUndefined();
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
  });

  it('combines with rate-limit fields', () => {
    const info = parseRateLimitHeaders(h({ 'Retry-After': '7', RateLimit: '"q";r=0;t=9' }), NOW);
    expect(info).toEqual({ policy: 'q', remaining: 0, resetMs: 9000, retryAfterMs: 7000 });
  });
});
