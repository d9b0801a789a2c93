/**
 * Counts CSV lines as the bytes stream in, as a lenient spreadsheet importer reads them:
 * LF, CRLF or a lone CR (Excel for Mac's "CSV (Macintosh)") ends a line; a quote opens a
 * quoted field only at the field's start (after a separator or a line end), so a stray quote
 * inside a field (`O"Brien`) cannot swallow the rows after it; `""` inside quotes is a quote.
 */
export class CsvRowCounter {
  lines = 0;
  private quoted = false;
  /** Just left a quoted field: a second quote here is an escaped one, and the field goes on quoted. */
  private closing = false;
  private fieldStart = true;
  private afterCr = false;
  private lineHasData = false;

  push(chunk: Uint8Array, from = 0, to = chunk.length): void {
    for (let i = from; i < to; i++) {
      const c = chunk[i];
      const afterCr = this.afterCr;
      this.afterCr = false;
      if (this.quoted) {
        if (c === 0x22) {
          this.quoted = false;
          this.closing = true;
        }
        continue;
      }
      if (c === 0x22 && (this.fieldStart || this.closing)) {
        this.quoted = true;
        this.closing = false;
        this.fieldStart = false;
        this.lineHasData = true;
        continue;
      }
      this.closing = false;
      if (c === 0x0a || c === 0x0d) {
        if (c === 0x0d) this.afterCr = true;
        else if (afterCr) continue; // the LF of a CRLF: the CR ended the line
        if (this.lineHasData) this.lines++;
        this.lineHasData = false;
        this.fieldStart = true;
      } else if (c === 0x2c || c === 0x3b || c === 0x09) {
        this.fieldStart = true;
        if (c !== 0x09) this.lineHasData = true;
      } else if (c !== 0x20) {
        this.fieldStart = false;
        this.lineHasData = true;
      }
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
