import type { CompiledPolicy } from '../policy/compiled.js';
import { CompareDiff } from './compare.js';
import { detectFormat, parserFor } from './formats/detect.js';
import type { FieldOverrides } from './formats/json-lines.js';
import { LineSplitter, LogInputError, openLog, type InputProgress } from './input.js';
import type { LineParser, LogEntry, LogFormat, Unparsed } from './log-entry.js';
import { ReorderBuffer } from './reorder.js';
import { Replay } from './replay.js';
import { compareSummary, policyRun, type SimulationResult } from './result.js';

export interface SimulateOptions {
  policy: CompiledPolicy;
  /** A second policy decided over the same lines (`--compare`). */
  compare?: CompiledPolicy;
  /** A file path, or "-" for stdin; gzip is recognised by content. */
  log: string;
  format?: 'auto' | LogFormat;
  fields?: FieldOverrides;
  /** Only lines at or after / before these times (ms since the epoch). */
  fromMs?: number;
  toMs?: number;
  /** Replay at N times the log's own pace instead of as fast as possible. */
  speed?: number;
  /** How far out of order lines may be and still be put back in order (default 5 s). */
  reorderMs?: number;
  /** Keys shown per rule (default 10). */
  topKeys?: number;
  /** Bound on live keys in each policy's memory store. */
  maxKeys?: number;
  /** Called after each chunk of input with the progress so far. */
  onProgress?: (p: { lines: number; input: InputProgress }) => void;
}

/** Lines looked at to recognise the format. */
const SAMPLE_LINES = 20;
/** Unparsed lines listed with their line numbers (all are counted). */
const LISTED_UNPARSED = 100;

/** Error for input that cannot be simulated at all; its message is shown as is. */
export class SimulateError extends LogInputError {}

/** Replays a log through one policy (or two) and returns what they decided. */
export async function simulate(opts: SimulateOptions): Promise<SimulationResult> {
  const started = Date.now();
  const topKeys = opts.topKeys ?? 10;
  const baseline = new Replay(opts.policy, { topKeys, maxKeys: opts.maxKeys });
  const diff = opts.compare ? new CompareDiff(baseline, new Replay(opts.compare, { topKeys, maxKeys: opts.maxKeys }), topKeys) : undefined;
  let firstMs = NaN;
  let lastMs = NaN;
  const decide = (e: LogEntry) => {
    if (Number.isNaN(firstMs)) firstMs = e.timeMs;
    if (!(e.timeMs <= lastMs)) lastMs = e.timeMs;
    if (diff) diff.decide(e);
    else baseline.decide(e);
  };
  const reorder = new ReorderBuffer(opts.reorderMs ?? 5000, decide);

  let format: LogFormat | undefined = opts.format === 'auto' || opts.format === undefined ? undefined : opts.format;
  let parse: LineParser | undefined = format ? parserFor(format, opts.fields) : undefined;
  const sample: [string | undefined, number][] = [];
  let unparsed = 0;
  let blank = 0;
  let skipped = 0;
  const unparsedLines: Unparsed[] = [];
  const fromMs = opts.fromMs ?? -Infinity;
  const toMs = opts.toMs ?? Infinity;

  const take = (text: string | undefined, line: number) => {
    if (text === undefined) return miss(line, `longer than 1 MiB`);
    if (text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim() === '')) {
      blank++;
      return;
    }
    const e = parse!(text, line);
    if (typeof e === 'string') return miss(line, e);
    if (e.timeMs < fromMs || e.timeMs >= toMs) {
      skipped++;
      return;
    }
    reorder.push(e);
  };
  const miss = (line: number, reason: string) => {
    unparsed++;
    if (unparsedLines.length < LISTED_UNPARSED) unparsedLines.push({ line, reason });
  };
  const choose = () => {
    format = detectFormat(
      sample.map(([t]) => t ?? ''),
      opts.fields,
    );
    if (!format) {
      const first = sample.find(([t]) => t && t.trim())?.[0];
      throw new SimulateError(`cannot tell the log format from its first lines${first ? ` (line 1: "${first.slice(0, 80)}")` : ''}; give --format clf, combined, json or envoy`);
    }
    parse = parserFor(format, opts.fields);
    for (const [t, n] of sample) take(t, n);
    sample.length = 0;
  };
  const splitter = new LineSplitter((text, line) => {
    if (parse) return take(text, line);
    sample.push([text, line]);
    if (sample.filter(([t]) => t && t.trim()).length >= SAMPLE_LINES) choose();
  });

  const input = openLog(opts.log);
  const paceStart = Date.now();
  for await (const chunk of input.text) {
    splitter.push(chunk);
    opts.onProgress?.({ lines: splitter.lines, input: input.progress });
    if (opts.speed && !Number.isNaN(firstMs)) {
      const due = paceStart + (lastMs - firstMs) / opts.speed;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, 60_000)));
    }
  }
  splitter.end();
  if (!parse) {
    if (sample.some(([t]) => t && t.trim())) choose();
    else format ??= 'combined';
  }
  reorder.flush();
  opts.onProgress?.({ lines: splitter.lines, input: input.progress });

  const run = policyRun(baseline, topKeys);
  return {
    lines: splitter.lines,
    unparsed,
    rules: run.rules,
    ...(diff ? { compare: compareSummary(diff, topKeys) } : {}),
    format: format!,
    policy: run.policy,
    ...(Number.isNaN(firstMs) ? {} : { from: new Date(firstMs).toISOString(), to: new Date(lastMs).toISOString() }),
    blank,
    skipped,
    late: reorder.lateCount,
    lateLines: reorder.late,
    unparsedLines,
    decided: run.decided,
    unauthenticated: run.unauthenticated,
    unmatched: run.unmatched,
    timeline: run.timeline,
    elapsedMs: Date.now() - started,
  };
}
