import { Unzip, UnzipInflate, type UnzipFile } from 'fflate';
import { SaxesParser } from 'saxes';

/**
 * Counts the rows of an .xlsx workbook as its bytes stream in, without unpacking it:
 * fflate's streaming unzip walks the zip's local entries in order, only the worksheets
 * (xl/worksheets/*.xml) are inflated, chunk by chunk, into a streaming XML parser (saxes)
 * that counts `<row>` elements holding at least one value (a cached value, an inline string or a formula). Every other entry is skipped
 * undecompressed. Memory is the inflate window and the parser's current tag, whatever the
 * size of the sheet.
 *
 * Rows are data rows, as for CSV: each worksheet's first row with a value is its header and
 * is not counted. A workbook that cannot be read (not a zip, broken XML) counts what it read
 * so far; the app that parses it will refuse it.
 *
 * fflate and saxes both work synchronously on pushed chunks, which is what lets the cap
 * answer as the chunk that crosses it arrives (the CSV counter's contract).
 */
/** Part names compare case-insensitively (ECMA-376 part 2, 9.1.1.1): `xl/worksheets/Sheet1.XML` is a sheet too. */
const WORKSHEET = /^\/?xl\/worksheets\/[^/]+\.xml$/i;
/** Other XML parts are read up to their root element: a producer may name a sheet's part as it likes (OPC). */
const XML_PART = /\.xml$/i;
/** Past this much inflated sheet XML the workbook is not read further (a zip bomb costs at most this much CPU). */
const MAX_INFLATED_BYTES = 256 * 1024 * 1024;

/** What the cap meters count rows with: CSV and XLSX alike. */
export interface RowCounter {
  push(chunk: Uint8Array, from?: number, to?: number): void;
  end(): void;
  readonly dataRows: number;
}

/** Is this upload an .xlsx workbook (by its media type or file name)? */
export function isXlsx(contentType: string, filename?: string): boolean {
  return contentType === XLSX_TYPE || /\.xlsx$/i.test(filename ?? '');
}

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export class XlsxRowCounter implements RowCounter {
  /** Data rows seen so far, over every worksheet (headers excluded). */
  dataRows = 0;
  /** Inflated worksheet bytes: the meter refuses a workbook that inflates past its bound (a zip bomb). */
  inflatedBytes = 0;
  private readonly unzip = new Unzip();
  private broken = false;

  constructor() {
    this.unzip.register(UnzipInflate);
    this.unzip.onfile = (file) => {
      // A sheet is wherever the workbook's relationships put it: any XML part whose root is <worksheet>.
      if (XML_PART.test(file.name)) this.readSheet(file, WORKSHEET.test(file.name));
    };
  }

  push(chunk: Uint8Array, from = 0, to = chunk.length): void {
    if (this.broken || to <= from) return;
    try {
      this.unzip.push(chunk.subarray(from, to));
    } catch {
      this.broken = true;
    }
  }

  end(): void {
    if (this.broken) return;
    try {
      this.unzip.push(new Uint8Array(0), true);
    } catch {
      this.broken = true;
    }
  }

  private readSheet(file: UnzipFile, isSheetPath: boolean): void {
    const xml = new SaxesParser();
    const text = new TextDecoder('utf-8');
    let rows = 0;
    let inRow = false;
    let rowHasValue = false;
    let failed = false;
    let rooted = isSheetPath;
    xml.on('error', () => {
      failed = true;
    });
    xml.on('opentag', (tag) => {
      const name = local(tag.name);
      if (!rooted) {
        rooted = true;
        if (name !== 'worksheet') {
          failed = true; // not a sheet: stop inflating it
          file.terminate();
          return;
        }
      }
      if (name === 'row') {
        inRow = true;
        rowHasValue = false;
      } else if (inRow && (name === 'v' || name === 'is' || name === 'f')) rowHasValue = true; // a formula is a value to the app, cached or not
    });
    xml.on('closetag', (tag) => {
      if (local(tag.name) !== 'row') return;
      if (inRow && rowHasValue) {
        rows++;
        if (rows > 1) this.dataRows++; // the sheet's first row is its header
      }
      inRow = false;
    });
    file.ondata = (err, data, final) => {
      if (err || failed) return;
      this.inflatedBytes += data.length;
      if (this.inflatedBytes > MAX_INFLATED_BYTES) {
        this.broken = true;
        return;
      }
      try {
        xml.write(text.decode(data, { stream: !final }));
        if (final) xml.close();
      } catch {
        failed = true;
      }
    };
    file.start();
  }
}

function local(name: string): string {
  const i = name.indexOf(':');
  return i < 0 ? name : name.slice(i + 1);
}
