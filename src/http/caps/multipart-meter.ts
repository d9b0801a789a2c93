import { mediaType } from '../content-type.js';
import type { CapPlan } from './plan.js';
import { CsvRowCounter } from './csv-row-counter.js';
import { isXlsx, XlsxRowCounter, type RowCounter } from './xlsx-row-counter.js';
import { fileTooLarge, tooManyRows, type CapViolation } from './violations.js';

/**
 * multipart/form-data: a small boundary parser that measures each file part and counts the rows of CSV and XLSX parts.
 * Not @fastify/busboy: it hands part data to a Readable that delivers it on a later tick (a 2 KB write showed 0 bytes
 * of file data on return, 1,908 a tick later), and CapMeter.push must give its verdict for the chunk it was handed.
 */
const CRLF2 = Buffer.from('\r\n\r\n');
const EMPTY_BUF = Buffer.alloc(0);
const MAX_PART_HEADERS = 16 * 1024;

export class MultipartMeter {
  private readonly delimiter: Buffer;
  /** Unprocessed bytes that could still be the start of a delimiter. */
  private carry: Buffer;
  private state: 'body' | 'after' | 'headers' | 'done' = 'body';
  private preamble = true;
  private headerAcc: Buffer = EMPTY_BUF;
  private part?: { file: boolean; filename?: string; bytes: number; csv?: RowCounter };
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
    const type = mediaType(/content-type:\s*([^\r\n]*)/i.exec(headers)?.[1]);
    const file = fn !== null;
    const isCsv = type === 'text/csv' || type === 'application/csv' || /\.csv$/i.test(filename ?? '');
    const csv = !this.plan.rows || !file ? undefined : isCsv ? new CsvRowCounter() : isXlsx(type, filename) ? new XlsxRowCounter() : undefined;
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
  private rowsCheck(csv: RowCounter): CapViolation | undefined {
    const rows = this.plan.rows!;
    return this.rows + csv.dataRows > rows.max ? tooManyRows(rows.cap, rows.max) : undefined;
  }
}
