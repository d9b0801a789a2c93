import type { z } from 'zod';
import type { Outcome, Subject } from '../policy/compiled.js';

/**
 * Hand-rolled validators for the decision API's bodies. They run on the hot path, so
 * they allocate nothing when the body is good, and on a bad body they name the JSON
 * path: `subject.account: expected string, number or boolean`.
 *
 * Structural problems (wrong types, unknown or missing fields) are 400; values of the
 * right type that make no sense (negative cost, too many checks) are 422.
 */

export interface Issue {
  path: string;
  message: string;
}

/** A request body that failed validation: 400 (structure) or 422 (meaning). */
export class BodyError extends Error {
  constructor(
    readonly status: 400 | 422,
    readonly issues: Issue[],
  ) {
    super(issues.map(formatIssue).join('; '));
    this.name = 'BodyError';
  }
  get code(): string {
    return this.status === 400 ? 'invalid_request' : 'unprocessable_entity';
  }
}

export function formatIssue(i: Issue): string {
  return `${i.path || '(body)'}: ${i.message}`;
}

export const LIMITS = {
  /** Attributes in one subject. */
  subjectAttributes: 64,
  /** Characters in one attribute name or string value. */
  valueLength: 1024,
  /** Checks in one batch. */
  batch: 1000,
};

export interface CheckBody {
  subject: Subject;
  cost?: number;
}

export interface RecordBody {
  subject: Subject;
  outcome: Outcome;
}

function fail(status: 400 | 422, path: string, message: string): never {
  throw new BodyError(status, [{ path, message }]);
}

export function join(base: string, key: string): string {
  const k = /^[A-Za-z_$][\w$-]*$/.test(key) ? key : JSON.stringify(key);
  if (base === '') return k.startsWith('"') ? `[${k}]` : k;
  return k.startsWith('"') ? `${base}[${k}]` : `${base}.${k}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

export function expectObject(v: unknown, path: string): Record<string, unknown> {
  if (!isObject(v)) fail(400, path, `expected an object, got ${typeName(v)}`);
  return v;
}

/** The subject: an object of string, number or boolean attributes. */
export function readSubject(v: unknown, path: string): Subject {
  const subject = expectObject(v, path);
  let n = 0;
  for (const key in subject) {
    const value = subject[key];
    const t = typeof value;
    if (t === 'string') {
      if ((value as string).length > LIMITS.valueLength) fail(422, join(path, key), `longer than ${LIMITS.valueLength} characters`);
    } else if (t === 'number') {
      if (!Number.isFinite(value)) fail(400, join(path, key), 'expected a finite number');
    } else if (t !== 'boolean') {
      fail(400, join(path, key), `expected string, number or boolean, got ${typeName(value)}`);
    }
    if (key.length === 0 || key.length > LIMITS.valueLength) fail(422, join(path, key), 'an attribute name is 1 to 1024 characters');
    if (++n > LIMITS.subjectAttributes) fail(422, path, `more than ${LIMITS.subjectAttributes} attributes`);
  }
  return subject as Subject;
}

function readCost(v: unknown, path: string): number {
  if (typeof v !== 'number') fail(400, path, `expected a number, got ${typeName(v)}`);
  if (!(v > 0)) fail(422, path, `must be a positive number (got ${v})`);
  // JSON has no Infinity, but 1e999 parses to it: a cost no limit can hold.
  if (!Number.isFinite(v)) fail(422, path, `must be a finite number (got ${v})`);
  return v;
}

function unknownField(path: string, key: string, known: string): never {
  fail(400, join(path, key), `unknown field (expected ${known})`);
}

/** `{ "subject": { … }, "cost": 1 }` */
export function readCheck(body: unknown, path = ''): CheckBody {
  const o = expectObject(body, path);
  let subject: unknown;
  let cost: unknown;
  for (const key in o) {
    if (key === 'subject') subject = o.subject;
    else if (key === 'cost') cost = o.cost;
    else unknownField(path, key, 'subject, cost');
  }
  // The paths are constants for a single check (the hot path); only a batch item joins them.
  const subjectPath = path === '' ? 'subject' : join(path, 'subject');
  if (subject === undefined) fail(400, subjectPath, 'required');
  return { subject: readSubject(subject, subjectPath), cost: cost === undefined ? undefined : readCost(cost, path === '' ? 'cost' : join(path, 'cost')) };
}

/** `{ "checks": [{ subject, cost }, …] }` */
export function readBatch(body: unknown): CheckBody[] {
  const o = expectObject(body, '');
  for (const key in o) if (key !== 'checks') unknownField('', key, 'checks');
  const checks = o.checks;
  if (checks === undefined) fail(400, 'checks', 'required');
  if (!Array.isArray(checks)) fail(400, 'checks', `expected an array, got ${typeName(checks)}`);
  if (checks.length > LIMITS.batch) fail(422, 'checks', `at most ${LIMITS.batch} checks per batch (got ${checks.length})`);
  const out: CheckBody[] = new Array(checks.length);
  for (let i = 0; i < checks.length; i++) out[i] = readCheck(checks[i], `checks[${i}]`);
  return out;
}

/** `{ "subject": { … }, "outcome": { "status": 401, "bytes": 123, "success": false } }` */
export function readRecord(body: unknown): RecordBody {
  const o = expectObject(body, '');
  let subject: unknown;
  let outcome: unknown;
  for (const key in o) {
    if (key === 'subject') subject = o.subject;
    else if (key === 'outcome') outcome = o.outcome;
    else unknownField('', key, 'subject, outcome');
  }
  if (subject === undefined) fail(400, 'subject', 'required');
  if (outcome === undefined) fail(400, 'outcome', 'required');
  const s = readSubject(subject, 'subject');
  const out = expectObject(outcome, 'outcome');
  const result: { status?: number; bytes?: number; success?: boolean } = {};
  for (const key in out) {
    const v = out[key];
    if (key === 'status') {
      if (typeof v !== 'number' || !Number.isInteger(v)) fail(400, 'outcome.status', `expected an integer, got ${typeName(v)}`);
      if (v < 100 || v > 599) fail(422, 'outcome.status', `an HTTP status is 100 to 599 (got ${v})`);
      result.status = v;
    } else if (key === 'bytes') {
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(400, 'outcome.bytes', `expected a number, got ${typeName(v)}`);
      if (v < 0) fail(422, 'outcome.bytes', `must not be negative (got ${v})`);
      result.bytes = v;
    } else if (key === 'success') {
      if (typeof v !== 'boolean') fail(400, 'outcome.success', `expected a boolean, got ${typeName(v)}`);
      result.success = v;
    } else unknownField('outcome', key, 'status, bytes, success');
  }
  return { subject: s, outcome: result };
}

/** A body that has to be just a subject wrapper: `{ "subject": { … } }` (admin reset / inspect). */
export function readSubjectBody(body: unknown, extra: readonly string[] = []): { subject: Subject; rest: Record<string, unknown> } {
  const o = expectObject(body, '');
  const rest: Record<string, unknown> = {};
  for (const key in o) {
    if (key !== 'subject' && !extra.includes(key)) unknownField('', key, ['subject', ...extra].join(', '));
    if (key !== 'subject') rest[key] = o[key];
  }
  if (o.subject === undefined) fail(400, 'subject', 'required');
  return { subject: readSubject(o.subject, 'subject'), rest };
}

/** Turns a zod failure into a 400 with JSON paths (zod only checks structure here). */
export function fromZod(error: z.ZodError, input: unknown): BodyError {
  const issues: Issue[] = [];
  const at = (path: readonly PropertyKey[]): unknown => {
    let v: any = input;
    for (const p of path) v = v === null || typeof v !== 'object' ? undefined : v[p as string];
    return v;
  };
  for (const i of error.issues) {
    let path = '';
    for (const p of i.path) path = typeof p === 'number' ? `${path}[${p}]` : join(path, String(p));
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) issues.push({ path: join(path, k), message: 'unknown field' });
    } else if (i.code === 'invalid_type' && at(i.path) === undefined) {
      issues.push({ path, message: 'required' });
    } else {
      issues.push({ path, message: i.message.replace(/^Invalid input: /, '') });
    }
  }
  return new BodyError(400, issues);
}
