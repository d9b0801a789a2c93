import { FailureLog } from '../engine/failure-log.js';
import type { Decision } from '../engine/decision.js';
import { Sluice, type Clock } from '../engine/sluice.js';
import { toSubjectConfig } from '../http/subject-config.js';
import { capPlan, checkContentEncoding, checkContentLength, CapMeter, needsMeter, type CapPlan, type CapViolation } from '../http/caps.js';
import { denialBody, dropBody, errorBody } from '../http/errors.js';
import { compileSubject, headerOf, SubjectError, type RequestInfo, type SubjectConfig, type SubjectDeriver } from '../http/subject.js';
import type { CompiledPolicy, CompiledRule, Subject } from '../policy/compiled.js';
import type { PolicySource } from '../policy/load.js';
import type { Store } from '../stores/store.js';

/**
 * The one place the HTTP front doors (gateway, Express, Fastify, Hono) decide a request:
 * subject derivation, payload caps, the decision, headers, denial and drop bodies, and
 * recording the outcome (status and bytes sent) after the response. Adapters only
 * translate their framework's request and response to these calls.
 */

export interface EnforcerOptions {
  /** An open engine; tests pass one built with an injected clock. */
  sluice?: Sluice;
  /** Or a policy (file path, YAML text, object, compiled) to open one with. A `subject:` section in it is read too. */
  policy?: PolicySource | CompiledPolicy;
  /** A Store, or a spec string as `--store` takes ('memory', 'sqlite:…', 'redis://…'). */
  store?: string | Store;
  clock?: Clock;
  /** Bound on keys for the memory store and the outage fallback (see MemoryStoreOptions.maxKeys). */
  maxKeys?: number;
  /** How the subject is derived; wins over the policy file's `subject:` section. */
  subject?: SubjectConfig;
  /** Failures that must not fail the request (recording after the response, store hiccups). */
  onError?: (error: unknown) => void;
  /**
   * For rules without `on_missing_key`: a request a rule matches but that lacks one of its
   * key attributes (no x-tenant-id header, no token claim) is refused with 400 — 401 when
   * the attribute comes from an API key or JWT — ('reject', the default here), or passes
   * that rule ('skip', the library's and service's default). Either way it is counted in
   * sluice_skipped_checks_total / the decision's `skipped`.
   */
  onMissingKey?: 'skip' | 'reject';
}

/** An answer Sluice gives instead of the app or the upstream. */
export interface Refusal {
  readonly refused: true;
  readonly status: number;
  readonly headers: Record<string, string>;
  /** JSON text. */
  readonly body: string;
}

/** What is known about a request before the decision: its subject and the caps to enforce. */
export interface Prepared {
  readonly refused: false;
  readonly subject: Subject;
  /** Set when the body must be metered as it streams. */
  readonly meter?: CapMeter;
  /** Filled by decide(). */
  decision?: Decision;
  /** What to record after the response: nothing, the status, or the status and the bytes sent. */
  record: 'none' | 'status' | 'bytes';
  /** The request was answered by Sluice after admission (cap crossed mid-stream): refund and skip recording. */
  capped?: CapViolation;
}

const JSON_TYPE = 'application/json; charset=utf-8';

export class Enforcer {
  readonly sluice: Sluice;
  /** Given in code; otherwise the policy's `subject:` section applies (and follows reloads). */
  private readonly subjectOverride?: SubjectConfig;
  private readonly onError: (error: unknown) => void;
  private policyRef!: CompiledPolicy;
  private derive!: SubjectDeriver;
  private recordRules!: readonly CompiledRule[];

  private readonly checkOptions: { onMissingKey: 'skip' | 'reject' };
  /** Attributes that come from API keys or JWT claims: a request missing one is unauthenticated (401). */
  private authAttrs!: ReadonlySet<string>;

  constructor(sluice: Sluice, subject?: SubjectConfig, onError?: (error: unknown) => void, onMissingKey: 'skip' | 'reject' = 'reject') {
    this.sluice = sluice;
    this.checkOptions = { onMissingKey };
    this.subjectOverride = subject;
    this.onError = onError ?? logOneLine;
    this.refresh();
  }

  /** Opens the engine from options; the policy file's `subject:` section is used unless `subject` is given. */
  static async create(opts: EnforcerOptions): Promise<Enforcer> {
    return new Enforcer(opts.sluice ?? (await openFromOptions(opts)), opts.subject, opts.onError, opts.onMissingKey);
  }

  /** Synchronous form for an engine already open (what the middleware factories use when given one). */
  static fromSluice(sluice: Sluice, subject?: SubjectConfig, onError?: (error: unknown) => void, onMissingKey?: 'skip' | 'reject'): Enforcer {
    return new Enforcer(sluice, subject, onError, onMissingKey);
  }

  /** Re-reads routes and outcome rules when the engine's policy was swapped. */
  private refresh(): void {
    const policy = this.sluice.policy;
    this.policyRef = policy;
    const config = this.subjectOverride ?? subjectConfigOf(policy);
    this.derive = compileSubject(config, policy.routes, () => this.sluice.now());
    this.authAttrs = new Set([...Object.values(config.jwt?.claims ?? {}), ...Object.values(config.apiKeys?.keys ?? {}).flatMap((a) => Object.keys(a))]);
    this.recordRules = policy.rules.filter((r) => r.phase === 'outcome' || r.algorithm === 'concurrency');
  }

  /**
   * Synchronous first half: the subject and the caps. Refuses a request without a
   * trustworthy identity (401) or whose Content-Length is already over a cap (413),
   * before anything is charged.
   */
  prepare(req: RequestInfo, contentType: string | undefined, contentLength: string | number | undefined | null): Prepared | Refusal {
    if (this.sluice.policy !== this.policyRef) this.refresh();
    let subject: Subject;
    try {
      subject = this.derive(req);
    } catch (e) {
      if (e instanceof SubjectError) return refusal(e.status, e.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {}, errorBody(e.code, e.message));
      this.onError(e);
      return internalError();
    }
    let meter: CapMeter | undefined;
    const plan: CapPlan | undefined = capPlan(this.policyRef, subject);
    if (plan) {
      const early = checkContentLength(plan, contentLength) ?? checkContentEncoding(plan, headerOf(req.headers, 'content-encoding'));
      if (early) return capRefusal(early);
      if (needsMeter(plan, contentType)) meter = new CapMeter(plan, contentType);
    }
    return { refused: false, subject, meter, record: 'none' };
  }

  /**
   * Second half: the decision. Admitted requests come back with their rate-limit headers
   * set on `prepared.decision`; denials and drops come back as a Refusal to send as is.
   */
  async decide(p: Prepared): Promise<Prepared | Refusal> {
    let d: Decision;
    try {
      d = await this.sluice.check(p.subject, this.checkOptions);
    } catch (e) {
      this.onError(e);
      return internalError();
    }
    p.decision = d;
    if (!d.allowed) {
      if (d.code === 'missing_key_attribute') return this.missingKey(d);
      if (d.action === 'drop') return refusal(d.status, d.headers, dropBody(d));
      return refusal(d.status, d.headers, denialBody(d));
    }
    const rules = this.recordRules;
    for (let i = 0; i < rules.length; i++) {
      if (!rules[i].matches(p.subject)) continue;
      if (rules[i].cost.kind === 'bytes') {
        p.record = 'bytes';
        break;
      }
      p.record = 'status';
    }
    return p;
  }

  /** A rule needs an attribute the request does not carry: 400, or 401 when it would come from an API key or token. */
  private missingKey(d: Decision): Refusal {
    const missing = d.skipped?.find((s) => s.rule === d.rule)?.missing ?? [];
    const fromAuth = missing.some((a) => this.authAttrs.has(a));
    const body = errorBody(fromAuth ? 'unauthenticated' : 'missing_key_attribute', d.message ?? 'The request lacks an attribute a rule needs.', { rule: d.rule, missing });
    return refusal(fromAuth ? 401 : 400, fromAuth ? { 'WWW-Authenticate': 'Bearer' } : {}, body);
  }

  /** A cap crossed while the body streamed: refund what the check charged, and answer. */
  capped(p: Prepared, v: CapViolation): Refusal {
    if (!p.capped) {
      p.capped = v;
      if (p.decision?.allowed) this.sluice.refund(p.subject).catch(this.onError);
    }
    return capRefusal(v);
  }

  /** After the response: the status and the bytes sent, for outcome and byte rules; releases concurrency leases. */
  finish(p: Prepared, status: number, bytes: number): void {
    if (p.record === 'none' || p.capped) return;
    this.sluice.record(p.subject, { status, bytes, success: status < 400 }).catch(this.onError);
  }

  /** The upstream was never reached: give back what the check charged. */
  refund(p: Prepared): void {
    if (p.decision?.allowed) this.sluice.refund(p.subject).catch(this.onError);
  }
}

/** The answer when Sluice itself failed on a request: 500 with the JSON error body, never a stack. */
export function internalError(): Refusal {
  return refusal(500, {}, errorBody('internal_error', 'The rate limiter failed to decide this request.'));
}

/** How a policy's `subject:` section derives subjects (throws ConfigError for one that cannot work: an unset secret_env, a short secret). */
export function subjectConfigOf(policy: Pick<CompiledPolicy, 'subject'>): SubjectConfig {
  return policy.subject ? toSubjectConfig(policy.subject) : {};
}

/** The answer while the engine could not be opened (a broken policy or setting, logged once at startup). */
export function unavailable(): Refusal {
  return refusal(500, {}, errorBody('rate_limiter_unavailable', 'The rate limiter is not configured correctly; the server log says why.'));
}

/** The default onError: one line per failure in the server's log (no stack: the message says what and where). */
export function logOneLine(e: unknown): void {
  const err = e as { name?: string; message?: string; code?: string };
  const what = err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message.replace(/\s*\n\s*/g, '; ')}` : String(e);
  console.error(`[sluice] ${what}${err?.code ? ` (${err.code})` : ''}`);
}

export function refusal(status: number, headers: Record<string, string>, body: unknown): Refusal {
  return { refused: true, status, headers, body: JSON.stringify(body) };
}

export function capRefusal(v: CapViolation): Refusal {
  const extra: Record<string, unknown> = { cap: v.cap, limit: v.limit };
  if (v.path) extra.path = v.path;
  // No `Connection: close`: the front door reads and discards the rest of the body within
  // bounds (http/drain.ts), so the client gets this answer instead of a reset.
  return refusal(v.status, {}, errorBody(v.code, v.message, extra));
}

/** Headers for a Refusal's body. */
export function refusalHeaders(r: Refusal): Record<string, string> {
  return { ...r.headers, 'Content-Type': JSON_TYPE, 'Content-Length': String(Buffer.byteLength(r.body)) };
}

export const JSON_CONTENT_TYPE = JSON_TYPE;

/** Thrown into a body stream when a cap is crossed, so the framework stops reading it. */
export class CapExceededError extends Error {
  readonly statusCode: number;
  readonly status: number;
  readonly expose = true;
  constructor(readonly violation: CapViolation) {
    super(violation.message);
    this.name = 'CapExceededError';
    this.statusCode = violation.status;
    this.status = violation.status;
  }
}

async function openFromOptions(opts: EnforcerOptions): Promise<Sluice> {
  if (opts.policy === undefined) throw new TypeError('sluice: give `sluice` (an open engine) or `policy`');
  // Store failures are never silent: one line per interval with a count (or the app's onError).
  const failures = new FailureLog((f) =>
    console.warn(`sluice: the rate-limit store is failing (${f.failures} since the last line): ${f.error}; rules fail open through a local limiter or answer 503 when closed`),
  );
  return Sluice.open({ policy: opts.policy, store: opts.store, clock: opts.clock, maxKeys: opts.maxKeys, onStoreError: opts.onError ?? failures.note });
}
