import type { CompareDiff } from './compare.js';
import type { LogFormat, Unparsed } from './log-entry.js';
import type { Replay } from './replay.js';
import type { FirstRefusal, KeyValues, Peak } from './tally.js';

/** One rule's answer, as `--json` prints it. */
export interface RuleSummary {
  rule: string;
  matched: number;
  admitted: number;
  refused: number;
  dropped: number;
  /** Keys with the most refusals (and drops), most first. */
  topKeys: { key: KeyValues; refused: number }[];
  /** Shadow rules only observe: how often this one would have refused. */
  shadowRefused?: number;
  /** The busiest key's highest usage against its limit. */
  peak?: Peak;
  firstRefusal?: FirstRefusal;
  /** Keys with the most requests, with the most each used of its limit. */
  busiestKeys: { key: KeyValues; requests: number; peakUsed: number; limit: number }[];
  limit: { count: number; windowMs: number };
  action: 'reject' | 'drop';
}

export interface PolicyRun {
  policy: string;
  decided: number;
  unauthenticated: number;
  unmatched: number;
  rules: RuleSummary[];
  timeline: ReturnType<Replay['timeline']['toJSON']>;
}

export interface CompareSummary {
  policy: string;
  newlyRefused: number;
  newlyAdmitted: number;
  rules: { rule: string; newlyRefused: number; newlyAdmitted: number; topKeys: { key: KeyValues; newlyRefused: number; newlyAdmitted: number }[] }[];
  /** The candidate policy's own figures over the same lines. */
  run: PolicyRun;
}

/** The `--json` document: the shape the issue gives, with the extras after it. */
export interface SimulationResult {
  lines: number;
  unparsed: number;
  rules: RuleSummary[];
  compare?: CompareSummary;
  format: LogFormat;
  policy: string;
  /** Time of the first and last replayed line (ISO 8601). */
  from?: string;
  to?: string;
  blank: number;
  /** Lines outside --from/--to. */
  skipped: number;
  /** Lines older than the reorder window allowed, decided at the time already reached. */
  late: number;
  lateLines: number[];
  /** The first unparsed lines with why. */
  unparsedLines: Unparsed[];
  decided: number;
  unauthenticated: number;
  unmatched: number;
  timeline: PolicyRun['timeline'];
  elapsedMs: number;
}

export function policyRun(replay: Replay, topKeys: number): PolicyRun {
  return {
    policy: replay.policy.source,
    decided: replay.decided,
    unauthenticated: replay.unauthenticated,
    unmatched: replay.unmatched,
    rules: replay.tallies.map((t) => {
      const s: RuleSummary = {
        rule: t.rule.name,
        matched: t.matched,
        admitted: t.admitted,
        refused: t.refused,
        dropped: t.dropped,
        topKeys: t.refusedKeys.top(topKeys).map((h) => ({ key: h.data, refused: h.count })),
        busiestKeys: t.busyKeys.top(topKeys).map((h) => ({ key: h.data.key, requests: h.count, peakUsed: h.data.peakUsed, limit: h.data.limit })),
        limit: { count: t.rule.params.limit, windowMs: t.rule.params.windowMs },
        action: t.rule.action,
      };
      if (t.rule.shadow) s.shadowRefused = t.shadowRefused;
      if (t.peak) s.peak = t.peak;
      if (t.firstRefusal) s.firstRefusal = t.firstRefusal;
      return s;
    }),
    timeline: replay.timeline.toJSON(),
  };
}

export function compareSummary(diff: CompareDiff, topKeys: number): CompareSummary {
  return {
    policy: diff.candidate.policy.source,
    newlyRefused: diff.newlyRefused,
    newlyAdmitted: diff.newlyAdmitted,
    rules: diff.rules.map((d) => ({
      rule: d.rule,
      newlyRefused: d.newlyRefused,
      newlyAdmitted: d.newlyAdmitted,
      topKeys: d.keys.top(topKeys).map((h) => ({ key: h.data.key, newlyRefused: h.data.newlyRefused, newlyAdmitted: h.data.newlyAdmitted })),
    })),
    run: policyRun(diff.candidate, topKeys),
  };
}
