import type { CompiledCap, CompiledPolicy, Subject } from '../policy/compiled.js';

/**
 * Payload caps, checked while the request body streams in: nothing is buffered.
 *
 *  - body size: counted chunk by chunk, and refused up front from Content-Length (413);
 *  - items at a JSON path ($.numbers, $.contacts, $.a[*].b): an incremental JSON scanner
 *    tracks nesting, strings and object keys and counts the elements of the watched
 *    arrays as their first byte arrives (422) — memory is O(depth), not O(body);
 *  - multipart uploads: a small boundary parser measures each file part (413) and counts
 *    CSV rows in CSV parts (422); a text/csv body is row-counted directly.
 *
 * CSV rows are data rows: the first line is the header. Quoted newlines do not end a row.
 */

export interface CapViolation {
  status: number;
  code: string;
  message: string;
  cap: string;
  limit: number;
  path?: string;
}

interface ItemWatch {
  cap: CompiledCap;
  path: string;
  /** Path segments: object keys, or '*' for array elements. */
  segments: string[];
  max: number;
}

/** The caps that apply to one request, merged (the strictest of each kind wins). */
export interface CapPlan {
  readonly caps: readonly CompiledCap[];
  readonly body?: { cap: CompiledCap; max: number };
  readonly file?: { cap: CompiledCap; max: number };
  readonly rows?: { cap: CompiledCap; max: number };
  readonly items: readonly ItemWatch[];
}

const planCache = new WeakMap<CompiledCap, ItemWatch[]>();

/** The caps matching a subject, or undefined when none do (the common, free case). */
export function capPlan(policy: CompiledPolicy, subject: Subject): CapPlan | undefined {
  const all = policy.caps;
  if (all.length === 0) return undefined;
  let matched: CompiledCap[] | undefined;
  for (let i = 0; i < all.length; i++) if (all[i].matches(subject)) (matched ??= []).push(all[i]);
  if (!matched) return undefined;
  let body: CapPlan['body'];
  let file: CapPlan['file'];
  let rows: CapPlan['rows'];
  const items: ItemWatch[] = [];
  for (const cap of matched) {
    if (cap.maxBodyBytes !== undefined && (!body || cap.maxBodyBytes < body.max)) body = { cap, max: cap.maxBodyBytes };
    if (cap.maxFileBytes !== undefined && (!file || cap.maxFileBytes < file.max)) file = { cap, max: cap.maxFileBytes };
    if (cap.maxRows !== undefined && (!rows || cap.maxRows < rows.max)) rows = { cap, max: cap.maxRows };
    if (cap.maxItems) {
      let watches = planCache.get(cap);
      if (!watches) {
        watches = cap.maxItems.map((m) => ({ cap, path: m.path, segments: parseJsonPath(m.path), max: m.max }));
        planCache.set(cap, watches);
      }
      items.push(...watches);
    }
  }
  return { caps: matched, body, file, rows, items };
}

/** "$.a[*].b" → ['a', '*', 'b']; "$" → []. */
export function parseJsonPath(path: string): string[] {
  const out: string[] = [];
  const re = /\.([A-Za-z0-9_-]+)|\[\*\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(path)) !== null) out.push(m[1] ?? '*');
  return out;
}

/** A Content-Length already over the body cap is refused before a byte is read. */
export function checkContentLength(plan: CapPlan, contentLength: string | number | undefined | null): CapViolation | undefined {
  if (!plan.body || contentLength === undefined || contentLength === null || contentLength === '') return undefined;
  const n = Number(contentLength);
  return Number.isFinite(n) && n > plan.body.max ? bodyTooLarge(plan.body.cap, plan.body.max) : undefined;
}

/** Is there anything to check while the body streams? */
export function needsMeter(plan: CapPlan, contentType: string | undefined): boolean {
  if (plan.body) return true;
  const ct = (contentType ?? '').toLowerCase();
  if (plan.items.length && isJson(ct)) return true;
  if ((plan.file || plan.rows) && ct.startsWith('multipart/form-data')) return true;
  if (plan.rows && isCsv(ct)) return true;
  return false;
}

function isJson(ct: string): boolean {
  return ct === '' || ct.startsWith('application/json') || /^[a-z]+\/[^;]*\+json/.test(ct);
}

function isCsv(ct: string): boolean {
  return ct.startsWith('text/csv') || ct.startsWith('application/csv');
}

/** Feed it the body's chunks in order; it answers the first cap crossed, and then stays crossed. */
export class CapMeter {
  bytes = 0;
  violation?: CapViolation;
  private readonly json?: JsonItemCounter;
  private readonly multipart?: MultipartMeter;
  private readonly csv?: CsvRowCounter;

  constructor(
    private readonly plan: CapPlan,
    contentType: string | undefined,
  ) {
    const ct = (contentType ?? '').toLowerCase();
    if (plan.items.length && isJson(ct)) this.json = new JsonItemCounter(plan.items);
    else if ((plan.file || plan.rows) && ct.startsWith('multipart/form-data')) {
      const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
      if (boundary) this.multipart = new MultipartMeter(boundary[1] ?? boundary[2], plan);
    } else if (plan.rows && isCsv(ct)) this.csv = new CsvRowCounter();
  }

  push(chunk: Uint8Array): CapViolation | undefined {
    if (this.violation) return this.violation;
    this.bytes += chunk.length;
    const body = this.plan.body;
    if (body && this.bytes > body.max) return (this.violation = bodyTooLarge(body.cap, body.max));
    if (this.json) this.violation = this.json.push(chunk);
    else if (this.multipart) this.violation = this.multipart.push(chunk);
    else if (this.csv) {
      this.csv.push(chunk);
      this.violation = this.csvCheck();
    }
    return this.violation;
  }

  /** The body ended: rows on a last line without a newline are counted now. */
  end(): CapViolation | undefined {
    if (this.violation) return this.violation;
    if (this.csv) {
      this.csv.end();
      this.violation = this.csvCheck();
    }
    if (this.multipart) this.violation = this.multipart.end();
    return this.violation;
  }

  private csvCheck(): CapViolation | undefined {
    const rows = this.plan.rows!;
    return this.csv!.dataRows > rows.max ? tooManyRows(rows.cap, rows.max) : undefined;
  }
}

// ---- violations (the body every front door answers) ----

function respond(cap: CompiledCap, status: number, code: string, message: string, limit: number, path?: string): CapViolation {
  return {
    status: cap.response?.status ?? status,
    code: cap.response?.code ?? code,
    message: cap.response?.message ?? message,
    cap: cap.name,
    limit,
    ...(path ? { path } : {}),
  };
}

function bodyTooLarge(cap: CompiledCap, max: number): CapViolation {
  return respond(cap, 413, 'payload_too_large', `Request body too large: cap "${cap.name}" allows at most ${formatBytes(max)} per request.`, max);
}

function tooManyItems(w: ItemWatch): CapViolation {
  return respond(w.cap, 422, 'too_many_items', `Too many items at ${w.path}: cap "${w.cap.name}" allows at most ${w.max} per request.`, w.max, w.path);
}

function tooManyRows(cap: CompiledCap, max: number): CapViolation {
  return respond(cap, 422, 'too_many_rows', `Too many rows in the upload: cap "${cap.name}" allows at most ${max} rows per upload.`, max);
}

function fileTooLarge(cap: CompiledCap, max: number, filename?: string): CapViolation {
  return respond(cap, 413, 'file_too_large', `Uploaded file ${filename ? `"${filename}" ` : ''}too large: cap "${cap.name}" allows at most ${formatBytes(max)} per file.`, max);
}

export function formatBytes(n: number): string {
  const units: [number, string][] = [[1e12, 'TB'], [1e9, 'GB'], [1e6, 'MB'], [1e3, 'KB']];
  for (const [size, unit] of units) if (n >= size && n % (size / 100) === 0) return `${+(n / size).toFixed(2)} ${unit} (${n} bytes)`;
  return `${n} bytes`;
}

// ---- JSON: items at watched paths, counted as they stream ----

interface Frame {
  array: boolean;
  /** For arrays: waiting for the next element; for objects: the next string is a key. */
  expect: boolean;
  /** Watches whose segments still match the path down to this container. */
  candidates: ItemWatch[];
  /** The watch (and its running count) when this array is one of the watched paths. */
  watch?: ItemWatch;
  key?: string;
}

const EMPTY: ItemWatch[] = [];
const MAX_KEY = 256;

class JsonItemCounter {
  private readonly stack: Frame[] = [];
  private readonly counts = new Map<ItemWatch, number>();
  private inString = false;
  private escape = false;
  private keyBytes: number[] | undefined;
  private capturingKey = false;
  /** Whether a scalar (number, true, false, null) is in progress; ends at a delimiter. */
  private inScalar = false;
  private readonly watches: ItemWatch[];

  constructor(watches: readonly ItemWatch[]) {
    this.watches = [...watches];
  }

  push(chunk: Uint8Array): CapViolation | undefined {
    const stack = this.stack;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === 0x5c) this.escape = true;
        else if (c === 0x22) {
          this.inString = false;
          if (this.capturingKey) {
            const top = stack[stack.length - 1];
            top.key = this.keyBytes ? Buffer.from(this.keyBytes).toString('utf8') : undefined;
            this.capturingKey = false;
            this.keyBytes = undefined;
          }
          continue;
        }
        if (this.capturingKey && this.keyBytes) {
          if (this.keyBytes.length < MAX_KEY) this.keyBytes.push(c);
          else this.keyBytes = undefined; // too long to be a watched key
        }
        continue;
      }
      if (this.inScalar) {
        if (c === 0x2c || c === 0x5d || c === 0x7d || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.inScalar = false;
        else continue;
      }
      switch (c) {
        case 0x20:
        case 0x0a:
        case 0x0d:
        case 0x09:
        case 0x3a: // ':' — the value follows; nothing to track
          break;
        case 0x2c: {
          // ','
          const top = stack[stack.length - 1];
          if (top) top.expect = true;
          break;
        }
        case 0x7b: // '{'
        case 0x5b: {
          // '['
          const v = this.value();
          if (v) return v;
          const parent = stack[stack.length - 1];
          const isArray = c === 0x5b;
          const frame: Frame = { array: isArray, expect: true, candidates: EMPTY };
          if (!parent) {
            // the root: a watch with no segments ("$") means the root array itself
            frame.candidates = this.watches;
          } else {
            const seg = parent.array ? '*' : parent.key;
            const depth = stack.length - 1;
            if (seg !== undefined && parent.candidates.length) {
              let next: ItemWatch[] | undefined;
              for (const w of parent.candidates) if (w.segments.length > depth && (w.segments[depth] === seg)) (next ??= []).push(w);
              if (next) frame.candidates = next;
            }
          }
          if (isArray) {
            const depth = stack.length; // segments needed to reach this array
            for (const w of frame.candidates) if (w.segments.length === depth) frame.watch = w;
          }
          stack.push(frame);
          break;
        }
        case 0x7d: // '}'
        case 0x5d: // ']'
          stack.pop();
          break;
        case 0x22: {
          // '"'
          const top = stack[stack.length - 1];
          this.inString = true;
          if (top && !top.array && top.expect) {
            // an object key
            top.expect = false;
            this.capturingKey = true;
            this.keyBytes = top.candidates.length ? [] : undefined;
            top.key = undefined;
          } else {
            const v = this.value();
            if (v) return v;
          }
          break;
        }
        default: {
          // the first byte of a number, true, false or null
          this.inScalar = true;
          const v = this.value();
          if (v) return v;
        }
      }
    }
    return undefined;
  }

  /** A value starts at the current level: count it when its container is watched. */
  private value(): CapViolation | undefined {
    const top = this.stack[this.stack.length - 1];
    if (!top || !top.array || !top.expect) return undefined;
    top.expect = false;
    const w = top.watch;
    if (!w) return undefined;
    const n = (this.counts.get(w) ?? 0) + 1;
    this.counts.set(w, n);
    return n > w.max ? tooManyItems(w) : undefined;
  }
}

// ---- CSV rows ----

class CsvRowCounter {
  lines = 0;
  private quoted = false;
  private lineHasData = false;

  push(chunk: Uint8Array, from = 0, to = chunk.length): void {
    for (let i = from; i < to; i++) {
      const c = chunk[i];
      if (c === 0x22) this.quoted = !this.quoted;
      if (c === 0x0a && !this.quoted) {
        if (this.lineHasData) this.lines++;
        this.lineHasData = false;
      } else if (c !== 0x0d && c !== 0x20 && c !== 0x09) this.lineHasData = true;
    }
  }

  end(): void {
    if (this.lineHasData) this.lines++;
    this.lineHasData = false;
  }

  /** Lines after the header. */
  get dataRows(): number {
    return Math.max(0, this.lines - 1);
  }
}

// ---- multipart/form-data: file sizes and CSV rows per part ----

const CRLF2 = Buffer.from('\r\n\r\n');
const EMPTY_BUF = Buffer.alloc(0);
const MAX_PART_HEADERS = 16 * 1024;

class MultipartMeter {
  private readonly delimiter: Buffer;
  /** Unprocessed bytes that could still be the start of a delimiter. */
  private carry: Buffer;
  private state: 'body' | 'after' | 'headers' | 'done' = 'body';
  private preamble = true;
  private headerAcc: Buffer = EMPTY_BUF;
  private part?: { file: boolean; filename?: string; bytes: number; csv?: CsvRowCounter };
  private rows = 0;

  constructor(
    boundary: string,
    private readonly plan: CapPlan,
  ) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`);
    // The first delimiter has no CRLF before it: pretend one was there.
    this.carry = Buffer.from('\r\n');
  }

  push(chunk: Uint8Array): CapViolation | undefined {
    let buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    this.carry = EMPTY_BUF;
    while (buf.length) {
      if (this.state === 'done') return undefined;
      if (this.state === 'body') {
        const at = buf.indexOf(this.delimiter);
        if (at < 0) {
          // keep a tail that may begin a delimiter
          const keep = Math.min(buf.length, this.delimiter.length - 1);
          const v = this.partData(buf, 0, buf.length - keep);
          if (v) return v;
          this.carry = Buffer.from(buf.subarray(buf.length - keep));
          return undefined;
        }
        const v = this.partData(buf, 0, at) ?? this.endPart();
        if (v) return v;
        buf = buf.subarray(at + this.delimiter.length);
        this.state = 'after';
        this.preamble = false;
        continue;
      }
      if (this.state === 'after') {
        if (buf.length < 2) {
          this.carry = Buffer.from(buf);
          return undefined;
        }
        if (buf[0] === 0x2d && buf[1] === 0x2d) {
          this.state = 'done';
          return undefined;
        }
        // skip transport padding up to the CRLF
        const nl = buf.indexOf(0x0a);
        if (nl < 0) {
          this.carry = Buffer.from(buf.subarray(Math.max(0, buf.length - 1)));
          return undefined;
        }
        buf = buf.subarray(nl + 1);
        this.state = 'headers';
        this.headerAcc = EMPTY_BUF;
        continue;
      }
      // headers
      const joined = this.headerAcc.length ? Buffer.concat([this.headerAcc, buf]) : buf;
      if (joined.length < 2) {
        this.headerAcc = Buffer.from(joined);
        return undefined;
      }
      const none = joined[0] === 0x0d && joined[1] === 0x0a;
      const end = none ? 0 : joined.indexOf(CRLF2);
      if (end < 0) {
        if (joined.length > MAX_PART_HEADERS) {
          this.state = 'done'; // not a form we can measure; the app will refuse it
          return undefined;
        }
        this.headerAcc = Buffer.from(joined);
        return undefined;
      }
      this.startPart(joined.subarray(0, end).toString('latin1'));
      buf = joined.subarray(none ? 2 : end + 4);
      this.headerAcc = EMPTY_BUF;
      this.state = 'body';
    }
    return undefined;
  }

  end(): CapViolation | undefined {
    if (this.part?.csv) {
      this.part.csv.end();
      return this.rowsCheck(this.part.csv);
    }
    return undefined;
  }

  private startPart(headers: string): void {
    const disp = /content-disposition:[^\r\n]*/i.exec(headers)?.[0] ?? '';
    const fn = /filename\*?=(?:"([^"]*)"|([^;\r\n]*))/i.exec(disp);
    const filename = fn ? (fn[1] ?? fn[2])?.trim() : undefined;
    const type = /content-type:\s*([^\r\n;]*)/i.exec(headers)?.[1]?.trim().toLowerCase() ?? '';
    const file = fn !== null;
    const csv = this.plan.rows && file && (type === 'text/csv' || type === 'application/csv' || /\.csv$/i.test(filename ?? '')) ? new CsvRowCounter() : undefined;
    this.part = { file, filename, bytes: 0, csv };
  }

  private partData(buf: Buffer, from: number, to: number): CapViolation | undefined {
    const part = this.part;
    if (this.preamble || !part || to <= from) return undefined;
    part.bytes += to - from;
    if (part.file && this.plan.file && part.bytes > this.plan.file.max) return fileTooLarge(this.plan.file.cap, this.plan.file.max, part.filename);
    if (part.csv) {
      part.csv.push(buf, from, to);
      return this.rowsCheck(part.csv);
    }
    return undefined;
  }

  private endPart(): CapViolation | undefined {
    const part = this.part;
    this.part = undefined;
    if (!part?.csv) return undefined;
    part.csv.end();
    const v = this.rowsCheck(part.csv);
    this.rows += part.csv.dataRows;
    return v;
  }

  /** Rows are counted across every CSV part of one upload. */
  private rowsCheck(csv: CsvRowCounter): CapViolation | undefined {
    const rows = this.plan.rows!;
    return this.rows + csv.dataRows > rows.max ? tooManyRows(rows.cap, rows.max) : undefined;
  }
}
