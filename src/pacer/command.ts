/**
 * `sluice pace --rate 80/s [--concurrency n] [--store redis://…] [--key field] [--url base] jobs.jsonl`
 *
 * Drains a JSON-lines file of jobs through the pacer. Each line is one job:
 *   { "key": "channel-1", "url": "https://…", "method": "POST", "headers": {…}, "body": {…} }
 * With a url (the line's, resolved against --url, or --url itself) the job is sent with
 * fetch; without one the line is "processed" by writing it to stdout, so the command
 * also works as a rate-limited filter in a shell pipeline (… | sluice pace --rate 5/s - | …).
 *
 * Progress goes to stderr: a bar redrawn in place on a terminal, a plain line every few
 * seconds otherwise. Memory stays bounded however long the file is (reading pauses while
 * enough jobs wait). SIGINT stops gracefully: nothing more starts, running requests finish,
 * and what was not sent is reported (and written to --unsent if given); a second SIGINT
 * aborts the running requests. Exit code: 0 all sent, 1 some failed or not sent, 130 interrupted.
 */
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { systemClock, type Clock } from '../client/clock.js';
import { createPacer, PacerStoppedError, type AdaptiveOptions, type Job, type RateSpec } from './index.js';
import { formatEta, formatProgress } from './progress.js';
import { formatRate, parseRate, perSecond } from './rate.js';
import { isResponseLike } from './outcome.js';
import type { Store } from '../stores/store.js';

export interface PaceCommandOptions {
  /** Path of the JSON-lines file, or '-' for stdin. */
  file: string;
  /** Rate per key, like "80/s" or "3/1m". */
  rate: RateSpec;
  /** Jobs in flight at once (default 8). */
  concurrency?: number;
  /** Field of each line that holds its pacing key (default "key"; dotted paths allowed). Lines without one share "default". */
  key?: string;
  /** Where the rate is kept: "memory" (default) or a store spec such as redis://host:6379, shared with other pacers. */
  store?: string | Store;
  /** Base URL: lines' relative urls resolve against it; lines without a url are sent to it. */
  url?: string;
  /** Adaptive rate per key between min and max ("dynamic limit" receivers); `rate` is the starting point. */
  adaptive?: AdaptiveOptions;
  /** Retries for transport errors, timeouts, 408/429/5xx (default 2). */
  retries?: number;
  /** Per request timeout (default 30 s). */
  timeoutMs?: number;
  /** Where not-sent lines are written (JSON lines), on interrupt or failure to send. */
  unsentFile?: string;
  /** Name shared by cooperating pacers (store keys pacer|<name>|<key>). Default "pace". */
  name?: string;
  /** Interval of progress output (default: 200 ms on a terminal, 5 s otherwise). */
  progressIntervalMs?: number;
  stdout?: Writable;
  stderr?: Writable & { isTTY?: boolean };
  /** Stops like SIGINT when aborted (tests, embedding). */
  signal?: AbortSignal;
  /** Listen for SIGINT (default true). */
  handleSigint?: boolean;
  fetch?: typeof fetch;
  clock?: Clock;
}

export interface PaceResult {
  /** Jobs read from the file (lines that parsed). */
  total: number;
  sent: number;
  /** Failed after retries (HTTP >= 400, network errors), plus lines that were not valid jobs. */
  failed: number;
  /** Never started because of an interrupt (including lines not yet read). */
  notSent: number;
  /** 1-based line numbers of jobs not sent (read ones), for re-running. */
  unsentLines: number[];
  interrupted: boolean;
  elapsedMs: number;
  exitCode: number;
}

interface LineJob {
  key?: unknown;
  url?: unknown;
  method?: unknown;
  headers?: unknown;
  body?: unknown;
}

const MAX_ERRORS_SHOWN = 20;

export async function paceCommand(opts: PaceCommandOptions): Promise<PaceResult> {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const clock = opts.clock ?? systemClock;
  const doFetch = opts.fetch ?? globalThis.fetch;
  const keyField = opts.key ?? 'key';
  const concurrency = opts.concurrency ?? 8;
  const rate = parseRate(opts.rate);
  const started = clock.now();
  const tty = stderr.isTTY === true;

  const total = opts.file === '-' ? undefined : await countLines(opts.file);

  let store: Store | undefined;
  let ownStore = false;
  if (typeof opts.store === 'string' && opts.store !== 'memory') {
    const { openStore } = await import('../stores/open.js');
    store = await openStore(opts.store, { requireConnection: true });
    ownStore = true;
  } else if (typeof opts.store === 'object') store = opts.store;

  const pacer = createPacer({
    name: opts.name ?? 'pace',
    store,
    rate,
    adaptive: opts.adaptive,
    concurrency,
    clock,
    timeoutMs: opts.timeoutMs ?? 30_000,
    retry: { attempts: opts.retries ?? 2 },
    // The reader waits for room (below), so a full queue is never hit.
    maxQueue: Number.MAX_SAFE_INTEGER,
  });

  let sent = 0;
  let failed = 0;
  let read = 0;
  let lineNo = 0;
  /** Lines with content handled (scheduled or failed as invalid). */
  let processed = 0;
  let errorsShown = 0;
  const unsentLines: number[] = [];
  const unsentJobs: string[] = [];
  let interrupted = false;
  let forced = false;
  let lastProgressLen = 0;

  const report = (msg: string): void => {
    if (tty && lastProgressLen > 0) stderr.write('\r\x1b[2K');
    lastProgressLen = 0;
    stderr.write(msg + '\n');
  };
  const failure = (line: number, why: string): void => {
    failed++;
    if (errorsShown++ < MAX_ERRORS_SHOWN) report(`line ${line}: ${why}`);
    else if (errorsShown === MAX_ERRORS_SHOWN + 1) report('(further failures not shown; see the summary)');
  };

  const stop = (): void => {
    if (interrupted) {
      if (!forced) {
        forced = true;
        report('second interrupt: aborting running requests');
        void pacer.stop({ drain: false, abortRunning: true });
      }
      return;
    }
    interrupted = true;
    report('interrupted: starting nothing more, waiting for running requests (interrupt again to abort them)');
    void pacer.stop({ drain: false });
  };
  const onSigint = (): void => stop();
  if (opts.handleSigint ?? true) process.on('SIGINT', onSigint);
  const onAbort = (): void => stop();
  if (opts.signal?.aborted) stop();
  opts.signal?.addEventListener('abort', onAbort);

  const progress = (): void => {
    const s = pacer.stats();
    const line = formatProgress(
      { total, sent, failed, queued: s.queued, running: s.running, ratePerSec: s.throughputPerSec, elapsedMs: clock.now() - started },
      { bar: tty, targetRatePerSec: perSecond(rate) },
    );
    if (tty) {
      stderr.write('\r\x1b[2K' + line);
      lastProgressLen = line.length;
    } else stderr.write(line + '\n');
  };
  const ticker = setInterval(progress, opts.progressIntervalMs ?? (tty ? 200 : 5000));
  ticker.unref?.();

  const pending = new Set<Promise<void>>();
  const input = opts.file === '-' ? process.stdin : createReadStream(opts.file);
  const rl = createInterface({ input, crlfDelay: Infinity });
  // Enough waiting to keep every key busy, little enough to bound memory on huge files.
  const highWater = Math.max(1000, concurrency * 8);

  try {
    for await (const text of rl) {
      lineNo++;
      if (interrupted) break;
      if (text.trim() === '') continue;
      processed++;
      let job: LineJob;
      try {
        job = JSON.parse(text) as LineJob;
        if (typeof job !== 'object' || job === null || Array.isArray(job)) throw new Error('a job must be a JSON object');
      } catch (e) {
        failure(lineNo, `not a JSON object (${(e as Error).message})`);
        continue;
      }
      read++;
      const line = lineNo;
      const key = String(pick(job, keyField) ?? 'default');
      let target: URL | undefined;
      try {
        target = targetUrl(job, opts.url);
      } catch (e) {
        failure(line, (e as Error).message);
        continue;
      }
      const run: Job<unknown> = target ? (signal) => send(doFetch, target, job, signal) : () => emit(stdout, text);
      const p = pacer.schedule(key, run).then(
        (res) => {
          if (isResponseLike(res) && res.status >= 400) failure(line, `HTTP ${res.status} from ${target?.href}`);
          else sent++;
        },
        (e: unknown) => {
          if (e instanceof PacerStoppedError) {
            unsentLines.push(line);
            if (opts.unsentFile) unsentJobs.push(text);
          } else failure(line, describe(e));
        },
      );
      pending.add(p);
      void p.finally(() => pending.delete(p));
      if (pacer.stats().queued >= highWater) await pacer.waitForRoom(undefined, highWater / 2);
    }
  } finally {
    rl.close();
    if (input !== process.stdin) (input as ReturnType<typeof createReadStream>).destroy();
  }
  if (!interrupted) await pacer.stop({ drain: true });
  await Promise.all(pending);
  // A drain can be interrupted half way; make sure the stop has settled.
  if (interrupted) await pacer.stop({ drain: false });
  clearInterval(ticker);
  if (opts.handleSigint ?? true) process.off('SIGINT', onSigint);
  opts.signal?.removeEventListener('abort', onAbort);
  if (ownStore) await store!.close();

  progress();
  if (tty) stderr.write('\n');
  lastProgressLen = 0;
  const elapsedMs = clock.now() - started;
  // Lines never read because of the interrupt (the total counts lines with content).
  const notRead = interrupted && total !== undefined ? Math.max(0, total - processed) : 0;
  const notSent = unsentLines.length + notRead;
  if (opts.unsentFile && unsentJobs.length > 0) await writeLines(opts.unsentFile, unsentJobs);

  const speed = elapsedMs > 0 ? formatRate(((sent + failed) * 1000) / elapsedMs) : '-';
  report(`done in ${formatEta(elapsedMs)}: sent ${sent}, failed ${failed}, not sent ${notSent} (${speed} overall, target ${formatRate(perSecond(rate))} per key)`);
  if (notSent > 0) {
    const where = [unsentLines.length > 0 ? `lines ${ranges(unsentLines)}` : '', notRead > 0 ? `${notRead} line(s) not read` : ''].filter(Boolean).join('; ');
    report(`not sent: ${where}${opts.unsentFile && unsentJobs.length > 0 ? ` (queued ones written to ${opts.unsentFile})` : ''}`);
  }
  const exitCode = interrupted ? 130 : failed > 0 || notSent > 0 ? 1 : 0;
  return { total: total ?? read, sent, failed, notSent, unsentLines, interrupted, elapsedMs, exitCode };

}

/**
 * `--adaptive 5/s..200/s` (or `5/s-200/s`) → { min, max }: the CLI's spelling of an adaptive range.
 * Throws a RangeError naming the expected form.
 */
export function parseAdaptiveRange(text: string): AdaptiveOptions {
  const m = /^\s*(.+?)\s*(?:\.\.|-)\s*(.+?)\s*$/.exec(text);
  if (!m) throw new RangeError(`--adaptive "${text}" is not a range (write it like 5/s..200/s)`);
  const range = { min: m[1], max: m[2] };
  parseRate(range.min);
  parseRate(range.max);
  if (perSecond(parseRate(range.min)) > perSecond(parseRate(range.max))) throw new RangeError(`--adaptive "${text}": the minimum is above the maximum`);
  return range;
}

/** Lines with content, counted up front for the progress bar's total and ETA. */
async function countLines(file: string): Promise<number | undefined> {
  try {
    if (!statSync(file).isFile()) return undefined;
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  let n = 0;
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) if (line.trim() !== '') n++;
  return n;
}

function pick(obj: object, path: string): unknown {
  let v: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

function targetUrl(job: LineJob, base: string | undefined): URL | undefined {
  if (job.url === undefined || job.url === null) return base ? new URL(base) : undefined;
  if (typeof job.url !== 'string') throw new Error('"url" must be a string');
  try {
    return new URL(job.url, base);
  } catch {
    throw new Error(`"url" ${JSON.stringify(job.url)} is not a valid URL${base ? '' : ' (relative urls need --url)'}`);
  }
}

async function send(doFetch: typeof fetch, url: URL, job: LineJob, signal: AbortSignal): Promise<Response> {
  const headers = new Headers();
  if (job.headers && typeof job.headers === 'object') for (const [k, v] of Object.entries(job.headers)) headers.set(k, String(v));
  let body: string | undefined;
  if (job.body !== undefined) {
    body = typeof job.body === 'string' ? job.body : JSON.stringify(job.body);
    if (typeof job.body !== 'string' && !headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  const method = typeof job.method === 'string' ? job.method.toUpperCase() : body !== undefined ? 'POST' : 'GET';
  const res = await doFetch(url, { method, headers, body, signal });
  // Read the (small) answer so the connection is reused; its content is not needed.
  await res.arrayBuffer().catch(() => undefined);
  return res;
}

function emit(out: Writable, line: string): Promise<void> | undefined {
  if (out.write(line + '\n')) return undefined;
  return new Promise((resolve) => out.once('drain', () => resolve()));
}

function describe(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    return cause instanceof Error ? `${e.message} (${cause.message})` : e.message;
  }
  return String(e);
}

/** [1,2,3,7,9,10] → "1-3, 7, 9-10" (first 20 ranges). */
function ranges(ns: number[]): string {
  const sorted = [...ns].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    out.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.length > 20 ? `${out.slice(0, 20).join(', ')}, …` : out.join(', ');
}

function writeLines(file: string, lines: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const w = createWriteStream(file);
    w.on('error', reject);
    w.end(lines.join('\n') + '\n', () => resolve());
  });
}
