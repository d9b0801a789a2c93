import type { CompiledRule, Subject } from '../policy/compiled.js';
import { SpaceSaving } from './space-saving.js';

/** A key's attributes under a rule, e.g. { account: "acme" }. */
export type KeyValues = Record<string, string>;

export function keyValues(rule: CompiledRule, subject: Subject): KeyValues {
  const out: KeyValues = {};
  for (const a of rule.keyAttrs) out[a] = String(subject[a]);
  return out;
}

/** The busiest moment of a rule's busiest key. */
export interface Peak {
  key: KeyValues;
  used: number;
  limit: number;
  atMs: number;
  line: number;
}

export interface FirstRefusal {
  line: number;
  atMs: number;
  key: KeyValues;
}

export interface KeyUsage {
  key: KeyValues;
  /** The most the key had used of its limit at one check. */
  peakUsed: number;
  /** Its limit at that check (after overrides and scaling). */
  limit: number;
}

/**
 * One rule's figures over a replay, in bounded memory: counts, the peak, the first
 * refusal, and two heavy-hitter summaries (keys by refusals, keys by requests).
 */
export class RuleTally {
  matched = 0;
  admitted = 0;
  refused = 0;
  dropped = 0;
  /** Refusals of a shadow rule (it only observes: the request went on). */
  shadowRefused = 0;
  peak: Peak | undefined;
  firstRefusal: FirstRefusal | undefined;
  readonly refusedKeys: SpaceSaving<KeyValues>;
  readonly busyKeys: SpaceSaving<KeyUsage>;

  constructor(
    readonly rule: CompiledRule,
    topKeys: number,
  ) {
    // Four times the keys shown, so the shown ones are the true top with high probability.
    this.refusedKeys = new SpaceSaving(topKeys * 4);
    this.busyKeys = new SpaceSaving(topKeys * 4);
  }

  /** A check this rule saw: how much of its limit the key used then. */
  saw(id: string, subject: Subject, used: number, limit: number, atMs: number, line: number): void {
    this.matched++;
    const hit = this.busyKeys.add(id, 1, () => ({ key: keyValues(this.rule, subject), peakUsed: 0, limit }));
    if (used > hit.data.peakUsed || hit.data.peakUsed === 0) {
      hit.data.peakUsed = used;
      hit.data.limit = limit;
    }
    if (this.peak === undefined || used / (limit || 1) > this.peak.used / (this.peak.limit || 1)) {
      this.peak = { key: keyValues(this.rule, subject), used, limit, atMs, line };
    }
  }

  /** This rule answered the request with a refusal (or a drop). */
  refusedNow(id: string, subject: Subject, drop: boolean, atMs: number, line: number): void {
    if (drop) this.dropped++;
    else this.refused++;
    this.refusedKeys.add(id, 1, () => keyValues(this.rule, subject));
    this.firstRefusal ??= { line, atMs, key: keyValues(this.rule, subject) };
  }
}
