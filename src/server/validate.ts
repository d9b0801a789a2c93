import type { z } from 'zod';
import { compileSchema, formatJsonPath, type SchemaIssue } from '../http/json-schema.js';
import type { Outcome, Subject } from '../policy/compiled.js';
import { batchSchema, checkSchema, inspectSchema, LIMITS, recordSchema, resetSchema } from './schemas.js';

/**
 * The service's request bodies, validated against the schemas of ./schemas.ts (compiled by
 * ajv, see http/json-schema.ts). On the decision API (the hot path) a good body allocates
 * nothing and a bad one is answered with its first problem; the admin API names every problem.
 * Each names its JSON path: `subject.account: expected string, number or boolean, got array`.
 *
 * Structural problems (wrong types, unknown or missing fields) are 400; values of the right
 * type that make no sense (negative cost, too many checks) are 422.
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
  /** `{ error: { code, message, path, issues } }`: path is the first issue's (every surface answers this shape). */
  body(): { error: { code: string; message: string; path: string; issues: Issue[] } } {
    return { error: { code: this.code, message: this.message, path: this.issues[0]?.path ?? '', issues: this.issues } };
  }
}

export function formatIssue(i: Issue): string {
  return `${i.path || '(body)'}: ${i.message}`;
}

export { LIMITS };

/** Issues from the schema as a BodyError: 400 when any is structural, else 422. */
export function bodyError(issues: readonly SchemaIssue[]): BodyError {
  const status = issues.some((i) => !i.meaning) ? 400 : 422;
  return new BodyError(status, issues.map((i) => ({ path: formatJsonPath(i.path), message: i.message })));
}

/** A reader for one body schema: the body itself when it is valid, else a BodyError. */
export function bodyReader<T>(schema: z.ZodType<T>, opts: { allErrors?: boolean } = {}): (body: unknown) => T {
  const compiled = compileSchema(schema, opts);
  return (body) => {
    if (body === undefined) throw new BodyError(400, [{ path: '', message: 'a JSON object body is required' }]);
    const issues = compiled.issues(body);
    if (issues !== undefined) throw bodyError(issues);
    return body as T;
  };
}

export interface CheckBody {
  subject: Subject;
  cost?: number;
}

export interface RecordBody {
  subject: Subject;
  outcome: Outcome;
}

const checkBody = bodyReader(checkSchema);
const batchBody = bodyReader(batchSchema);
const recordBody = bodyReader(recordSchema);

/** `{ "subject": { … }, "cost": 1 }` */
export function readCheck(body: unknown): CheckBody {
  const b = checkBody(body);
  return { subject: b.subject, cost: b.cost };
}

/** `{ "checks": [{ subject, cost }, …] }` */
export function readBatch(body: unknown): CheckBody[] {
  const checks = batchBody(body).checks;
  const out: CheckBody[] = new Array(checks.length);
  for (let i = 0; i < checks.length; i++) out[i] = { subject: checks[i].subject, cost: checks[i].cost };
  return out;
}

/** `{ "subject": { … }, "outcome": { "status": 401, "bytes": 123, "success": false } }` */
export function readRecord(body: unknown): RecordBody {
  const b = recordBody(body);
  return { subject: b.subject, outcome: b.outcome };
}

/** POST /v1/admin/reset: `{ "subject": { … }, "rules": ["…"] }`. */
export const readReset = bodyReader(resetSchema, { allErrors: true });
/** POST /v1/admin/inspect: `{ "subject": { … } }`. */
export const readInspect = bodyReader(inspectSchema, { allErrors: true });
