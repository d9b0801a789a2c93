import type { CompiledCap, CompiledPolicy, Subject } from '../policy/compiled.js';
import { isJsonType, mediaType, mediaTypeParameter } from './content-type.js';
import { CsvRowCounter } from './caps/csv-row-counter.js';
import { XLSX_TYPE, XlsxRowCounter, type RowCounter } from './caps/xlsx-row-counter.js';
import { JsonItemCounter } from './caps/json-item-counter.js';
import { MultipartMeter } from './caps/multipart-meter.js';
import type { CapPlan, ItemWatch } from './caps/plan.js';
import { bodyTooLarge, encodedBody, tooManyRows, unsupportedCharset, type CapViolation } from './caps/violations.js';

/**
 * Payload caps, checked while the request body streams in: nothing is buffered.
 *
 *  - body size: counted chunk by chunk, and refused up front from Content-Length (413);
 *  - items at a JSON path ($.numbers, $.contacts, $.a[*].b): an incremental JSON scanner
 *    tracks nesting, strings and object keys and counts the elements of the watched
 *    arrays as their first byte arrives (422) — memory is O(depth), not O(body);
 *  - multipart uploads: a small boundary parser measures each file part (413) and counts
 *    the rows of CSV and .xlsx parts (422); a text/csv or .xlsx body is row-counted directly
 *    (an .xlsx is unzipped and its worksheets parsed as they stream, see caps/xlsx-row-counter.ts).
 *
 * Rows are data rows: the first line of a CSV, and the first row of each worksheet, is the
 * header and is not counted. Quoted newlines do not end a CSV row.
 * The parsers and the violation bodies live in ./caps/.
 */

export { formatBytes, type CapViolation } from './caps/violations.js';

export type { CapPlan, ItemWatch } from './caps/plan.js';

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

/**
 * A body sent with a Content-Encoding (gzip, deflate, br) would be counted as compressed bytes,
 * while the app's parser (express.json() among them) inflates it: 10,001 numbers in a gzip body
 * passed a 10,000 cap. A capped request must come unencoded; it is refused with 415 otherwise.
 */
export function checkContentEncoding(plan: CapPlan, contentEncoding: string | undefined): CapViolation | undefined {
  if (contentEncoding === undefined) return undefined;
  const coding = contentEncoding.trim().toLowerCase();
  if (coding === '' || coding === 'identity' || !(plan.body || plan.file || plan.rows || plan.items.length)) return undefined;
  return encodedBody(plan.caps[0], coding);
}

/** Is there anything to check while the body streams? */
export function needsMeter(plan: CapPlan, contentType: string | undefined): boolean {
  if (plan.body) return true;
  const ct = mediaType(contentType);
  if (plan.items.length && isJson(ct)) return true;
  if ((plan.file || plan.rows) && ct === 'multipart/form-data') return true;
  if (plan.rows && ct !== 'multipart/form-data' && !isJsonType(ct)) return true; // a sheet under any other type: sniffed
  return false;
}

/**
 * A body on a row-capped route whose type names neither CSV nor XLSX (curl --data-binary sends
 * application/x-www-form-urlencoded, browsers application/vnd.ms-excel or octet-stream): read as
 * an app that imports it would, a zip (PK\x03\x04) as a workbook, anything else as CSV.
 */
class SniffedRowCounter implements RowCounter {
  private inner?: RowCounter;
  private head: number[] = [];

  push(chunk: Uint8Array, from = 0, to = chunk.length): void {
    if (!this.inner) {
      while (from < to && this.head.length < 4) this.head.push(chunk[from++]);
      if (this.head.length < 4) return;
      this.start();
    }
    this.inner!.push(chunk, from, to);
  }

  end(): void {
    if (!this.inner) this.start();
    this.inner!.end();
  }

  get dataRows(): number {
    return this.inner?.dataRows ?? 0;
  }

  private start(): void {
    const h = this.head;
    this.inner = h[0] === 0x50 && h[1] === 0x4b && h[2] === 0x03 && h[3] === 0x04 ? new XlsxRowCounter() : new CsvRowCounter();
    this.inner.push(Uint8Array.from(h));
  }
}

/** No Content-Type (or one that does not parse) is read as JSON. */
function isJson(ct: string): boolean {
  return ct === '' || isJsonType(ct);
}

function isCsv(ct: string): boolean {
  return ct === 'text/csv' || ct === 'application/csv';
}

/** Feed it the body's chunks in order; it answers the first cap crossed, and then stays crossed. */
export class CapMeter {
  bytes = 0;
  violation?: CapViolation;
  private readonly json?: JsonItemCounter;
  private readonly multipart?: MultipartMeter;
  private readonly csv?: RowCounter;

  constructor(
    private readonly plan: CapPlan,
    contentType: string | undefined,
  ) {
    const ct = mediaType(contentType);
    if (plan.items.length && isJson(ct)) {
      // express.json() decodes UTF-16 (and UTF-7, UTF-32) by the charset: 10,001 numbers sent as UTF-16 passed a 10,000 cap uncounted
      const charset = mediaTypeParameter(contentType, 'charset')?.toLowerCase();
      if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii') this.violation = unsupportedCharset(plan.items[0].cap, charset);
      else this.json = new JsonItemCounter(plan.items);
    } else if ((plan.file || plan.rows) && ct === 'multipart/form-data') {
      const boundary = mediaTypeParameter(contentType, 'boundary');
      if (boundary) this.multipart = new MultipartMeter(boundary, plan);
    } else if (plan.rows && isCsv(ct)) this.csv = new CsvRowCounter();
    else if (plan.rows && ct === XLSX_TYPE) this.csv = new XlsxRowCounter();
    else if (plan.rows && ct !== 'multipart/form-data' && !isJsonType(ct)) this.csv = new SniffedRowCounter();
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
