/**
 * The lean connection's RESP reader (src/stores/redis/resp.ts): every reply comes out whole and
 * in order however the socket cuts the bytes, and bytes that cannot be RESP are refused.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { command, ReplyError, RespReader, type Reply } from '../../src/stores/redis/resp.js';

/** RESP2 bytes of a reply, as Redis writes them. */
function encode(r: Reply): Buffer {
  if (r === null) return Buffer.from('$-1\r\n');
  if (typeof r === 'number') return Buffer.from(`:${r}\r\n`);
  if (typeof r === 'string') return Buffer.from(`+${r}\r\n`);
  if (r instanceof ReplyError) return Buffer.from(`-${r.message}\r\n`);
  if (Buffer.isBuffer(r)) return Buffer.concat([Buffer.from(`$${r.length}\r\n`), r, Buffer.from('\r\n')]);
  return Buffer.concat([Buffer.from(`*${r.length}\r\n`), ...r.map(encode)]);
}

const line = fc.string({ maxLength: 20 }).filter((s) => !/[\r\n]/.test(s));
const reply: fc.Arbitrary<Reply> = fc.letrec<{ r: Reply }>((tie) => ({
  r: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    line,
    line.map((s) => new ReplyError(`ERR ${s}`)),
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), // binary, CRLF bytes included
    fc.array(tie('r'), { maxLength: 5 }),
  ),
})).r;

const plain = (r: Reply): unknown => (r instanceof ReplyError ? { error: r.message } : Buffer.isBuffer(r) ? [...r] : Array.isArray(r) ? r.map(plain) : r);

function readAll(bytes: Buffer, cuts: number[]): Reply[] {
  const out: Reply[] = [];
  const reader = new RespReader((r) => out.push(r));
  let at = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    const to = Math.min(bytes.length, c);
    if (to <= at) continue;
    reader.feed(bytes.subarray(at, to));
    at = to;
  }
  if (at < bytes.length) reader.feed(bytes.subarray(at));
  return out;
}

describe('RESP reader', () => {
  it('gives every reply whole and in order, however the bytes are cut (property)', () => {
    fc.assert(
      fc.property(fc.array(reply, { minLength: 1, maxLength: 8 }), fc.array(fc.nat({ max: 4000 }), { maxLength: 12 }), (replies, cuts) => {
        const bytes = Buffer.concat(replies.map(encode));
        expect(readAll(bytes, cuts).map(plain)).toEqual(replies.map(plain));
      }),
      { numRuns: 300 },
    );
  });

  it('reads a reply fed one byte at a time', () => {
    const r: Reply = [1_700_000_000_123, Buffer.from('\r\n\x00binary\r\n')];
    const bytes = encode(r);
    expect(readAll(bytes, Array.from({ length: bytes.length }, (_, i) => i)).map(plain)).toEqual([plain(r)]);
  });

  it('decodes an error reply as a ReplyError with the server text (UTF-8)', () => {
    const [e] = readAll(Buffer.from('-ERR Function not found ü\r\n'), []);
    expect(e).toBeInstanceOf(ReplyError);
    expect((e as ReplyError).name).toBe('ReplyError');
    expect((e as ReplyError).message).toBe('ERR Function not found ü');
  });

  it.each([
    ['an unknown type byte', '!oops\r\n'],
    ['a bad integer', ':12x\r\n'],
    ['a bad bulk length', '$abc\r\n'],
    ['a negative bulk length', '$-2\r\n'],
    ['a line not ended by CRLF', '+OK\rX'],
    ['an empty integer', ':\r\n'],
  ])('refuses %s', (_what, text) => {
    const reader = new RespReader(() => undefined);
    expect(() => reader.feed(Buffer.from(text))).toThrow(/sluice redis store/);
  });

  it('refuses an endless header line instead of buffering it', () => {
    const reader = new RespReader(() => undefined);
    expect(() => {
      for (let i = 0; i < 20; i++) reader.feed(Buffer.alloc(8192, 0x41).fill('+', 0, 1));
    }).toThrow(/longer than 64 KiB/);
  });

  it('writes commands as RESP arrays of bulk strings, lengths in bytes', () => {
    expect(command(['SET', 'k€', ''])).toBe('*3\r\n$3\r\nSET\r\n$4\r\nk€\r\n$0\r\n\r\n');
  });
});
