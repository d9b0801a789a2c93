/**
 * A minimal RESP2 writer and reader for the lean connection (lean-connection.ts).
 *
 * Written by hand rather than taken from a library because it is a measured hot path: at one
 * check in flight ioredis spent ≈ 10 µs of Node CPU per FCALL more than the same bytes over a
 * bare socket (bench/redis-floor.mjs), a fifth of a whole check. It knows the five RESP2 types,
 * which is all the transaction function and the handshake (AUTH, SELECT) answer with.
 */

/** An error reply (`-ERR …`): named as ioredis names it, so callers tell refusals from broken connections alike. */
export class ReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplyError';
  }
}

/** What a reply decodes to: integers as numbers, bulk strings as Buffers (null for nil), arrays as arrays. */
export type Reply = number | string | Buffer | null | ReplyError | Reply[];

/** `$<bytes>\r\n<text>\r\n` for one argument. */
export function bulk(text: string): string {
  return `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
}

/** A whole command in RESP: `*<n>\r\n` and each argument as a bulk string. */
export function command(args: readonly string[]): string {
  let s = `*${args.length}\r\n`;
  for (let i = 0; i < args.length; i++) s += bulk(args[i]);
  return s;
}

/** Returned by the parse steps while the buffer holds only part of a reply. */
const PARTIAL = Symbol('partial');

/** Longest header line accepted (a type byte, a length or a short status): a peer sending more is not Redis. */
const MAX_LINE = 64 * 1024;
/** Largest bulk string or array accepted from the server (replies here are a few KB). */
const MAX_LENGTH = 512 * 1024 * 1024;

/**
 * Turns the socket's chunks into whole replies, in order. A reply cut across chunks waits for
 * the rest; when one cannot be RESP (a bad type byte, a bad length), `feed` throws and the
 * connection must be dropped, since nothing after it can be trusted.
 */
export class RespReader {
  private buf: Buffer | undefined;
  private pos = 0;
  /** Bytes the buffered partial reply needs at least before parsing it again is worth it (while parsing: an end offset in the buffer). */
  private need = 0;

  constructor(private readonly onReply: (reply: Reply) => void) {}

  feed(chunk: Buffer): void {
    if (this.buf === undefined) this.buf = chunk;
    else {
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
      this.pos = 0;
      if (this.buf.length < this.need) return;
    }
    const buf = this.buf;
    while (this.pos < buf.length) {
      const start = this.pos;
      const v = this.value(buf);
      if (v === PARTIAL) {
        // The next feed keeps the buffer from the reply's start: what it needs, counted from there.
        this.need -= start;
        this.pos = start;
        return;
      }
      this.need = 0;
      this.onReply(v);
    }
    this.buf = undefined;
    this.pos = 0;
  }

  /** Drops anything buffered (the connection was closed). */
  reset(): void {
    this.buf = undefined;
    this.pos = 0;
    this.need = 0;
  }

  private value(buf: Buffer): Reply | typeof PARTIAL {
    const type = buf[this.pos];
    const end = buf.indexOf(13, this.pos + 1); // '\r'
    if (end < 0 || end + 1 >= buf.length) {
      if (buf.length - this.pos > MAX_LINE) throw new Error('sluice redis store: a reply line longer than 64 KiB');
      this.need = buf.length + 1;
      return PARTIAL;
    }
    if (buf[end + 1] !== 10) throw new Error('sluice redis store: a reply line not ended by CRLF');
    const line = buf.toString('latin1', this.pos + 1, end);
    const next = end + 2;
    switch (type) {
      case 43: // '+'
        this.pos = next;
        return line;
      case 45: // '-'
        this.pos = next;
        return new ReplyError(Buffer.from(line, 'latin1').toString('utf8'));
      case 58: // ':'
        this.pos = next;
        return integer(line);
      case 36: {
        // '$'
        const n = integer(line);
        if (n === -1) {
          this.pos = next;
          return null;
        }
        if (n < 0 || n > MAX_LENGTH) throw new Error(`sluice redis store: a bulk reply of length ${line}`);
        if (next + n + 2 > buf.length) {
          this.need = next + n + 2;
          return PARTIAL;
        }
        this.pos = next + n + 2;
        return buf.subarray(next, next + n);
      }
      case 42: {
        // '*'
        const n = integer(line);
        this.pos = next;
        if (n === -1) return null;
        if (n < 0 || n > MAX_LENGTH) throw new Error(`sluice redis store: an array reply of length ${line}`);
        const out: Reply[] = new Array(n);
        for (let i = 0; i < n; i++) {
          const v = this.value(buf);
          if (v === PARTIAL) return PARTIAL;
          out[i] = v;
        }
        return out;
      }
      default:
        throw new Error(`sluice redis store: a reply of unknown type byte ${type}`);
    }
  }
}

function integer(line: string): number {
  const n = Number(line);
  if (line === '' || !Number.isSafeInteger(n)) throw new Error(`sluice redis store: a bad integer in a reply: ${JSON.stringify(line.slice(0, 40))}`);
  return n;
}
