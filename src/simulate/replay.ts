import { Sluice } from '../engine/sluice.js';
import { localId } from '../engine/keys.js';
import { toSubjectConfig } from '../http/subject-config.js';
import { compileSubject, SubjectError, type RequestInfo, type SubjectDeriver } from '../http/subject.js';
import type { CompiledPolicy, CompiledRule, Subject } from '../policy/compiled.js';
import type { LogEntry } from './log-entry.js';
import { RuleTally } from './tally.js';
import { Timeline } from './timeline.js';

/** What one policy did with one line: for the compare diff. */
export interface Verdict {
  /** Decided at all (false when the line had no trustworthy identity: the front door answered 401). */
  decided: boolean;
  allowed: boolean;
  /** The rule that answered a refusal. */
  refusedBy: CompiledRule | undefined;
  subject: Subject | undefined;
}

/**
 * Replays log lines through the engine exactly as the HTTP front doors would have
 * decided them: the subject from the policy's own `routes:` and `subject:` sections
 * (the same compileSubject the gateway and middleware use, given a request built from
 * the line), the check at the line's time on a virtual clock, and, when admitted, the
 * record of the logged status and bytes for rules that count outcomes or bytes.
 */
export class Replay {
  readonly sluice: Sluice;
  readonly tallies: RuleTally[];
  readonly timeline: Timeline;
  /** Lines refused a subject (unknown API key, bad token…): the front door answered 401 before any rule. */
  unauthenticated = 0;
  /** Lines no rule matched. */
  unmatched = 0;
  decided = 0;
  private nowMs = 0;
  private readonly derive: SubjectDeriver;
  private readonly recordRules: readonly CompiledRule[];
  private readonly verdict: Verdict = { decided: false, allowed: true, refusedBy: undefined, subject: undefined };
  private readonly req: RequestInfo & { headers: Record<string, string> } = { method: 'GET', url: '/', headers: {}, remoteAddress: undefined };

  constructor(
    readonly policy: CompiledPolicy,
    opts: { topKeys?: number; maxKeys?: number } = {},
  ) {
    const clock = () => this.nowMs;
    this.sluice = Sluice.openSync({ policy, clock, maxKeys: opts.maxKeys });
    this.derive = compileSubject(policy.subject ? toSubjectConfig(policy.subject) : {}, policy.routes, clock);
    // The same rules Enforcer records after a response: outcome-counted and concurrency rules.
    this.recordRules = policy.rules.filter((r) => r.phase === 'outcome' || r.algorithm === 'concurrency');
    this.tallies = policy.rules.map((r) => new RuleTally(r, opts.topKeys ?? 10));
    this.timeline = new Timeline(policy.rules.map((r) => r.name));
  }

  /** Decides one line at its time (never before the last one: the clock only moves forward). */
  decide(e: LogEntry): Verdict {
    if (e.timeMs > this.nowMs) this.nowMs = e.timeMs;
    const now = this.nowMs;
    const v = this.verdict;
    const req = this.req;
    req.method = e.method;
    req.url = e.url;
    req.headers = e.headers;
    req.remoteAddress = e.remoteAddress;
    let subject: Subject;
    try {
      subject = this.derive(req);
    } catch (err) {
      if (!(err instanceof SubjectError)) throw err;
      this.unauthenticated++;
      v.decided = false;
      v.allowed = false;
      v.refusedBy = undefined;
      v.subject = undefined;
      return v;
    }
    this.decided++;
    const d = this.sluice.checkSync(subject);
    const results = d.rules;
    if (results.length === 0) this.unmatched++;
    const byName = this.policy.ruleByName;
    let refusedBy: CompiledRule | undefined;
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      const rule = byName.get(r.name)!;
      const t = this.tallies[rule.index];
      const id = localId(rule, subject);
      t.saw(id, subject, r.limit - r.remaining, r.limit, now, e.line);
      if (d.allowed) t.admitted++;
      else if (r.shadow && !r.allowed) t.shadowRefused++;
      if (!d.allowed && r.name === d.rule) {
        refusedBy = rule;
        t.refusedNow(id, subject, d.action === 'drop', now, e.line);
      }
    }
    this.timeline.add(now, refusedBy ? refusedBy.index : -1);
    if (d.allowed && this.needsRecord(subject)) {
      // The memory store applies a record synchronously; the promise only carries the decision.
      void this.sluice.record(subject, { status: e.status, bytes: e.bytes, success: e.status < 400 });
    }
    v.decided = true;
    v.allowed = d.allowed;
    v.refusedBy = refusedBy;
    v.subject = subject;
    return v;
  }

  private needsRecord(subject: Subject): boolean {
    const rules = this.recordRules;
    for (let i = 0; i < rules.length; i++) if (rules[i].matches(subject)) return true;
    return false;
  }
}
