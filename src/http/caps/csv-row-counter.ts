/** Counts CSV lines as the bytes stream in; quoted newlines do not end a row. */
export class CsvRowCounter {
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
