import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';

/** The log cannot be read (missing file, broken gzip): said in one line, exit 2. */
export class LogInputError extends Error {}

/** How far through its input a log is, for the progress bar. */
export interface InputProgress {
  /** Bytes read from the file or stdin (compressed bytes for gzip). */
  read: number;
  /** The file's size; undefined for stdin. */
  size: number | undefined;
}

/** Opens a log file, or stdin for "-"; the size is known for files, for the progress bar. */
export function openLog(path: string): { text: AsyncGenerator<string>; progress: InputProgress } {
  let size: number | undefined;
  if (path !== '-') {
    try {
      size = statSync(path).size;
    } catch (e) {
      throw new LogInputError(`cannot read log ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { cause: e });
    }
  }
  const progress: InputProgress = { read: 0, size };
  const raw = path === '-' ? process.stdin : createReadStream(path, { highWaterMark: 1 << 20 });
  return { text: decode(raw, progress, path === '-' ? 'stdin' : path), progress };
}

/**
 * The input as text chunks. Gzip is recognised by its magic bytes (1f 8b), whatever the
 * file is called, so `-` works for `zcat`-less pipes too.
 */
async function* decode(raw: Readable, progress: InputProgress, name: string): AsyncGenerator<string> {
  const bytes = counted(raw, progress);
  const head = await bytes.next();
  if (head.done) return;
  const decoder = new StringDecoder('utf8');
  if (head.value.length >= 2 && head.value[0] === 0x1f && head.value[1] === 0x8b) {
    const gunzip = createGunzip({ chunkSize: 1 << 20 });
    const feed = Readable.from(prepend(head.value, bytes));
    feed.on('error', (e) => gunzip.destroy(e));
    feed.pipe(gunzip);
    try {
      for await (const chunk of gunzip) yield decoder.write(chunk as Buffer);
    } catch (e) {
      throw new LogInputError(`${name}: not a readable gzip stream (${(e as Error).message})`, { cause: e });
    }
  } else {
    yield decoder.write(head.value);
    for await (const chunk of bytes) yield decoder.write(chunk);
  }
  const rest = decoder.end();
  if (rest) yield rest;
}

async function* counted(raw: Readable, progress: InputProgress): AsyncGenerator<Buffer> {
  for await (const chunk of raw) {
    progress.read += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
}

async function* prepend(first: Buffer, rest: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  yield* rest;
}

/** Longest line kept; a longer one is reported unparsed, and memory stays bounded. */
export const MAX_LINE = 1 << 20;

/**
 * Cuts text chunks into lines (LF or CRLF), numbering them from 1. A line longer than
 * MAX_LINE is not held: it is passed on as undefined text, to be reported.
 */
export class LineSplitter {
  private carry = '';
  private skipping = false;
  private lineNo = 0;

  constructor(private readonly onLine: (text: string | undefined, line: number) => void) {}

  push(chunk: string): void {
    let start = 0;
    let text = chunk;
    if (this.carry) {
      text = this.carry + chunk;
      this.carry = '';
    }
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      this.lineNo++;
      if (this.skipping) {
        this.skipping = false;
        this.onLine(undefined, this.lineNo);
      } else {
        const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        this.onLine(text.slice(start, end), this.lineNo);
      }
      start = nl + 1;
    }
    if (start < text.length && !this.skipping) {
      if (text.length - start > MAX_LINE) this.skipping = true;
      else this.carry = text.slice(start);
    }
  }

  end(): void {
    if (this.skipping) this.onLine(undefined, ++this.lineNo);
    else if (this.carry) this.onLine(this.carry.endsWith('\r') ? this.carry.slice(0, -1) : this.carry, ++this.lineNo);
    this.carry = '';
    this.skipping = false;
  }

  get lines(): number {
    return this.lineNo;
  }
}
