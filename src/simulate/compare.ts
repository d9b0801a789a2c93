import { localId } from '../engine/keys.js';
import type { CompiledRule, Subject } from '../policy/compiled.js';
import type { LogEntry } from './log-entry.js';
import type { Replay } from './replay.js';
import { SpaceSaving } from './space-saving.js';
import { keyValues, type KeyValues } from './tally.js';

/** Per rule, what changed between the baseline and the candidate policy. */
export class RuleDiff {
  /** Admitted by the baseline, refused by the candidate under this (candidate) rule. */
  newlyRefused = 0;
  /** Refused by the baseline under this (baseline) rule, admitted by the candidate. */
  newlyAdmitted = 0;
  readonly keys: SpaceSaving<{ key: KeyValues; newlyRefused: number; newlyAdmitted: number }>;
  firstNewlyRefused: number | undefined;
  firstNewlyAdmitted: number | undefined;

  constructor(
    readonly rule: string,
    topKeys: number,
  ) {
    this.keys = new SpaceSaving(topKeys * 4);
  }
}

/**
 * Both policies decide every line, each on its own engine and store, and the
 * differences are counted per rule and per key: newly refused (the candidate refuses
 * what the baseline admitted) and newly admitted (the reverse). A line refused by
 * both, under whatever rules, is no change.
 */
export class CompareDiff {
  private readonly diffs = new Map<string, RuleDiff>();
  newlyRefused = 0;
  newlyAdmitted = 0;

  constructor(
    readonly baseline: Replay,
    readonly candidate: Replay,
    private readonly topKeys = 10,
  ) {}

  decide(e: LogEntry): void {
    const a = this.baseline.decide(e);
    const wasAllowed = a.allowed;
    const wasRefusedBy = a.refusedBy;
    const wasSubject = a.subject;
    const wasDecided = a.decided;
    const b = this.candidate.decide(e);
    if (!wasDecided || !b.decided || wasAllowed === b.allowed) return;
    if (wasAllowed) {
      this.newlyRefused++;
      this.count(b.refusedBy, b.subject, e.line, 'refused');
    } else {
      this.newlyAdmitted++;
      this.count(wasRefusedBy, wasSubject, e.line, 'admitted');
    }
  }

  private count(rule: CompiledRule | undefined, subject: Subject | undefined, line: number, what: 'refused' | 'admitted'): void {
    const name = rule?.name ?? '(store)';
    let d = this.diffs.get(name);
    if (!d) this.diffs.set(name, (d = new RuleDiff(name, this.topKeys)));
    const id = rule && subject ? localId(rule, subject) : '';
    const hit = d.keys.add(id, 1, () => ({ key: rule && subject ? keyValues(rule, subject) : {}, newlyRefused: 0, newlyAdmitted: 0 }));
    if (what === 'refused') {
      d.newlyRefused++;
      hit.data.newlyRefused++;
      d.firstNewlyRefused ??= line;
    } else {
      d.newlyAdmitted++;
      hit.data.newlyAdmitted++;
      d.firstNewlyAdmitted ??= line;
    }
  }

  get rules(): RuleDiff[] {
    return [...this.diffs.values()];
  }
}
