/**
 * The protobuf wire format of the four messages the gRPC service speaks: RateLimitRequest in,
 * RateLimitResponse out (envoy.service.ratelimit.v3, proto/envoy/…), HealthCheckRequest in and
 * HealthCheckResponse out (grpc.health.v1). Hand-written rather than protobufjs: these messages
 * are small and fixed, the decoder hands the limiter its plain RateLimitRequest directly (no
 * message class, no toObject pass) and the encoder sizes the answer once and writes it into one
 * Buffer. On the bench request and its answer, decode+encode costs 1.2 µs of CPU here against
 * 2.5 µs for protobufjs reflection with toObject/fromObject (what @grpc/proto-loader does; the
 * enums the limiter speaks are strings) and 1.9 µs for protobufjs without that conversion.
 * Unknown fields are skipped, as protobuf requires; a malformed message is an EnvoyRequestError
 * that says at which byte (gRPC INVALID_ARGUMENT), never a crash.
 */
import { UNIT_NUMBERS } from './config.js';
import { EnvoyRequestError, type RateLimitDescriptor, type RateLimitEntry, type RateLimitRequest, type RateLimitResponse } from './types.js';

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

/** A cursor over one message's bytes; every read checks the bounds. */
class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    public end: number,
    readonly what: string,
  ) {}

  fail(why: string): never {
    throw new EnvoyRequestError(`the ${this.what} is not valid protobuf: ${why} at byte ${this.pos}`);
  }

  /** A varint as a number: exact to 2^53, approximate past it (as @grpc/proto-loader's longs: Number). */
  varint(): number {
    const { buf, end } = this;
    let pos = this.pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) this.fail('a varint runs past the end');
      const b = buf[pos++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.pos = pos;
        return result;
      }
      scale *= 128;
    }
    this.fail('a varint is longer than 10 bytes');
  }

  /** The low 32 bits of a varint (how protobuf reads uint32 and enum fields). */
  varint32(): number {
    const { buf, end } = this;
    let pos = this.pos;
    let lo = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) this.fail('a varint runs past the end');
      const b = buf[pos++];
      if (i < 5) lo |= (b & 0x7f) << (7 * i);
      if (b < 0x80) {
        this.pos = pos;
        return lo >>> 0;
      }
    }
    this.fail('a varint is longer than 10 bytes');
  }

  /** The end of a length-delimited field that starts here. */
  lenEnd(): number {
    const len = this.varint();
    const stop = this.pos + len;
    if (stop > this.end) this.fail(`a field of ${len} bytes runs past the end`);
    return stop;
  }

  string(): string {
    const stop = this.lenEnd();
    const s = this.buf.toString('utf8', this.pos, stop);
    this.pos = stop;
    return s;
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === LEN) this.pos = this.lenEnd();
    else if (wireType === I64 || wireType === I32) {
      const stop = this.pos + (wireType === I64 ? 8 : 4);
      if (stop > this.end) this.fail('a fixed-width field runs past the end');
      this.pos = stop;
    } else this.fail(`wire type ${wireType} is not supported`);
  }

  /** Reads a tag; 0 at the end of the message. */
  tag(): number {
    if (this.pos >= this.end) return 0;
    const t = this.varint32();
    if (t >>> 3 === 0) this.fail('field number 0');
    return t;
  }

  /** Runs `field` over each field of the embedded message that starts here. */
  embedded(field: (r: Reader, tag: number) => void): void {
    const stop = this.lenEnd();
    const outer = this.end;
    this.end = stop;
    for (let t = this.tag(); t !== 0; t = this.tag()) field(this, t);
    this.end = outer;
  }
}

function entryField(entry: RateLimitEntry): (r: Reader, t: number) => void {
  return (r, t) => {
    if (t === ((1 << 3) | LEN)) entry.key = r.string();
    else if (t === ((2 << 3) | LEN)) entry.value = r.string();
    else r.skip(t & 7);
  };
}

function descriptorField(d: RateLimitDescriptor): (r: Reader, t: number) => void {
  return (r, t) => {
    if (t === ((1 << 3) | LEN)) {
      const entry: RateLimitEntry = { key: '', value: '' };
      r.embedded(entryField(entry));
      d.entries.push(entry);
    } else if (t === ((2 << 3) | LEN)) {
      // A singular message field seen twice merges, as protobuf says.
      const limit = (d.limit ??= { requests_per_unit: 0, unit: 0 });
      r.embedded((r2, t2) => {
        if (t2 === ((1 << 3) | VARINT)) limit.requests_per_unit = r2.varint32();
        else if (t2 === ((2 << 3) | VARINT)) limit.unit = r2.varint32() | 0;
        else r2.skip(t2 & 7);
      });
    } else if (t === ((3 << 3) | LEN)) {
      const wrapper = (d.hits_addend ??= { value: 0 }) as { value: number };
      r.embedded((r2, t2) => {
        if (t2 === ((1 << 3) | VARINT)) wrapper.value = r2.varint();
        else r2.skip(t2 & 7);
      });
    } else r.skip(t & 7);
  };
}

/** envoy.service.ratelimit.v3.RateLimitRequest from its bytes. */
export function decodeRateLimitRequest(buf: Buffer): RateLimitRequest {
  const r = new Reader(buf, 0, buf.length, 'RateLimitRequest');
  const req: RateLimitRequest = { domain: '', descriptors: [], hits_addend: 0 };
  for (let t = r.tag(); t !== 0; t = r.tag()) {
    if (t === ((1 << 3) | LEN)) req.domain = r.string();
    else if (t === ((2 << 3) | LEN)) {
      const d: RateLimitDescriptor = { entries: [] };
      r.embedded(descriptorField(d));
      req.descriptors.push(d);
    } else if (t === ((3 << 3) | VARINT)) req.hits_addend = r.varint32();
    else r.skip(t & 7);
  }
  return req;
}

/** grpc.health.v1.HealthCheckRequest's `service` from its bytes. */
export function decodeHealthCheckRequest(buf: Buffer): { service: string } {
  const r = new Reader(buf, 0, buf.length, 'HealthCheckRequest');
  let service = '';
  for (let t = r.tag(); t !== 0; t = r.tag()) {
    if (t === ((1 << 3) | LEN)) service = r.string();
    else r.skip(t & 7);
  }
  return { service };
}

// ---------------------------------------------------------------- encoding

const CODE_NUMBERS: Readonly<Record<string, number>> = { UNKNOWN: 0, OK: 1, OVER_LIMIT: 2 };
const UNIT_INDEX: Readonly<Record<string, number>> = Object.fromEntries(UNIT_NUMBERS.map((u, i) => [u, i]));
const HEALTH_NUMBERS: Readonly<Record<string, number>> = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 };

/** Bytes of a non-negative varint (< 2^53), or of a negative int as protobuf writes it (10). */
function varintSize(v: number): number {
  if (v < 0) return 10;
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/**
 * A message written in two passes: `size*` adds up the bytes (and remembers each string's UTF-8
 * length and each embedded message's length, in order), then `write*` replays the same walk.
 */
class Writer {
  buf!: Buffer;
  pos = 0;
  /** Lengths of strings and embedded messages, in the order the walk meets them. */
  readonly lens: number[] = [];
  private next = 0;

  // sizing
  strField(s: string | undefined): number {
    if (!s) return 0;
    const len = s.length < 64 && isAscii(s) ? s.length : Buffer.byteLength(s);
    this.lens.push(len);
    return 1 + varintSize(len) + len;
  }

  static intField(v: number | undefined): number {
    return v ? 1 + varintSize(v) : 0;
  }

  /** Reserves a slot for an embedded message's length; `done` fills it with the size. */
  open(): number {
    this.lens.push(0);
    return this.lens.length - 1;
  }

  done(slot: number, size: number): number {
    this.lens[slot] = size;
    return 1 + varintSize(size) + size;
  }

  // writing
  alloc(size: number): void {
    this.buf = Buffer.allocUnsafe(size);
  }

  varint(v: number): void {
    const buf = this.buf;
    if (v < 0) {
      // Two's complement over 64 bits, as protobuf writes a negative int32/int64.
      let lo = v >>> 0;
      let hi = Math.floor(v / 4294967296) >>> 0;
      for (let i = 0; i < 9; i++) {
        buf[this.pos++] = (lo & 0x7f) | 0x80;
        lo = ((lo >>> 7) | (hi << 25)) >>> 0;
        hi >>>= 7;
      }
      buf[this.pos++] = lo & 0x01;
      return;
    }
    while (v >= 128) {
      buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[this.pos++] = v;
  }

  writeStr(field: number, s: string | undefined): void {
    if (!s) return;
    const len = this.lens[this.next++];
    this.buf[this.pos++] = (field << 3) | LEN;
    this.varint(len);
    if (len === s.length) for (let i = 0; i < len; i++) this.buf[this.pos++] = s.charCodeAt(i);
    else this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  writeInt(field: number, v: number | undefined): void {
    if (!v) return;
    this.buf[this.pos++] = (field << 3) | VARINT;
    this.varint(v);
  }

  writeOpen(field: number): void {
    this.buf[this.pos++] = (field << 3) | LEN;
    this.varint(this.lens[this.next++]);
  }
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

type Status = RateLimitResponse['statuses'][number];
type Header = RateLimitResponse['response_headers_to_add'][number];

function sizeStatus(w: Writer, s: Status): number {
  const slot = w.open();
  let n = Writer.intField(CODE_NUMBERS[s.code]);
  if (s.current_limit) {
    const l = s.current_limit;
    const inner = w.open();
    n += w.done(inner, Writer.intField(l.requests_per_unit) + Writer.intField(UNIT_INDEX[l.unit]) + w.strField(l.name));
  }
  n += Writer.intField(s.limit_remaining);
  if (s.duration_until_reset) {
    const inner = w.open();
    n += w.done(inner, Writer.intField(s.duration_until_reset.seconds) + Writer.intField(s.duration_until_reset.nanos));
  }
  return w.done(slot, n);
}

function writeStatus(w: Writer, s: Status): void {
  w.writeOpen(2);
  w.writeInt(1, CODE_NUMBERS[s.code]);
  if (s.current_limit) {
    const l = s.current_limit;
    w.writeOpen(2);
    w.writeInt(1, l.requests_per_unit);
    w.writeInt(2, UNIT_INDEX[l.unit]);
    w.writeStr(3, l.name);
  }
  w.writeInt(3, s.limit_remaining);
  if (s.duration_until_reset) {
    w.writeOpen(4);
    w.writeInt(1, s.duration_until_reset.seconds);
    w.writeInt(2, s.duration_until_reset.nanos);
  }
}

function sizeHeader(w: Writer, h: Header): number {
  const slot = w.open();
  return w.done(slot, w.strField(h.key) + w.strField(h.value));
}

function writeHeader(w: Writer, field: number, h: Header): void {
  w.writeOpen(field);
  w.writeStr(1, h.key);
  w.writeStr(2, h.value);
}

/**
 * envoy.service.ratelimit.v3.RateLimitResponse as one gRPC message: the 5-byte prefix
 * (uncompressed, length) followed by the protobuf bytes.
 */
export function encodeRateLimitResponse(res: RateLimitResponse): Buffer {
  const w = new Writer();
  let size = Writer.intField(CODE_NUMBERS[res.overall_code]);
  for (const s of res.statuses) size += sizeStatus(w, s);
  for (const h of res.response_headers_to_add) size += sizeHeader(w, h);
  for (const h of res.request_headers_to_add) size += sizeHeader(w, h);
  w.alloc(5 + size);
  writePrefix(w.buf, size);
  w.pos = 5;
  w.writeInt(1, CODE_NUMBERS[res.overall_code]);
  for (const s of res.statuses) writeStatus(w, s);
  for (const h of res.response_headers_to_add) writeHeader(w, 3, h);
  for (const h of res.request_headers_to_add) writeHeader(w, 4, h);
  return w.buf;
}

/** grpc.health.v1.HealthCheckResponse as one gRPC message (prefix included). */
export function encodeHealthCheckResponse(status: 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN'): Buffer {
  const n = HEALTH_NUMBERS[status];
  const buf = Buffer.alloc(n ? 7 : 5);
  writePrefix(buf, n ? 2 : 0);
  if (n) {
    buf[5] = (1 << 3) | VARINT;
    buf[6] = n;
  }
  return buf;
}

function writePrefix(buf: Buffer, length: number): void {
  buf[0] = 0; // not compressed
  buf.writeUInt32BE(length, 1);
}
