import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { z } from 'zod';
import { unknownFieldMessage } from '../policy/suggest.js';

/**
 * One validation style for every body and file Sluice reads: the schema is written once in
 * zod (types, docs: the OpenAPI document is generated from it with z.toJSONSchema), and the
 * JSON Schema zod generates is compiled by ajv, which validates. ajv because it is the speed
 * of the hand-written validator it replaced and zod's own safeParse is not (bench/validation.mjs:
 * a /v1/check body in ~0.1 µs with ajv, ~0.7–1.3 µs with safeParse, ~0.05 µs by hand), and
 * because zod's records silently drop a "__proto__" key where ajv refuses its value.
 *
 * Problems come back as issues with the JSON path as segments, a message that says what is
 * wrong, and whether it is a matter of structure (HTTP 400: wrong type, unknown or missing
 * field) or of meaning (422: a value of the right type out of range).
 */

// ajv ships CommonJS; its 2020-12 build is the dialect z.toJSONSchema writes.
const { Ajv2020 } = createRequire(import.meta.url)('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');

export interface SchemaIssue {
  /** Where: object keys and array indexes from the root of the value. */
  path: (string | number)[];
  message: string;
  /** A value of the right type whose meaning is wrong (out of range, too long): 422, not 400. */
  meaning: boolean;
}

/** Per-schema wording for a failed keyword ({limit} and {count} are filled in), set with `.meta({ [MESSAGES]: … })`. */
export const MESSAGES = 'x-messages';

export interface CompiledSchema {
  /** Undefined when the value is valid (nothing allocated); else its issues, the first one first. */
  issues(value: unknown): SchemaIssue[] | undefined;
  /** The JSON Schema the value is checked against (what the OpenAPI document shows). */
  readonly jsonSchema: Record<string, unknown>;
}

export interface CompileOptions {
  /** Report every problem (admin bodies, config files) instead of the first (the hot path: first one, least work). */
  allErrors?: boolean;
}

/** The JSON Schema of a zod schema, as ajv and the OpenAPI document read it. */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any', override: (ctx) => flattenScalarUnion(ctx.jsonSchema as Record<string, unknown>) });
  return out as Record<string, unknown>;
}

/**
 * anyOf [{type: string, maxLength}, {type: number}, {type: boolean}] → {type: [string, number,
 * boolean], maxLength}: the same set of values (each keyword applies to one type only), one
 * type test instead of three branches (ajv: ~0.4 → ~0.1 µs per /v1/check body).
 */
function flattenScalarUnion(s: Record<string, unknown>): void {
  const members = s.anyOf as Record<string, unknown>[] | undefined;
  if (!Array.isArray(members) || members.length < 2) return;
  const types: string[] = [];
  const merged: Record<string, unknown> = {};
  for (const m of members) {
    if (typeof m.type !== 'string' || types.includes(m.type)) return;
    for (const k in m) {
      if (k === 'type') continue;
      if (k in merged || !ONE_TYPE_KEYWORDS.has(k)) return;
      merged[k] = m[k];
    }
    types.push(m.type);
  }
  delete s.anyOf;
  Object.assign(s, merged, { type: types });
}
const ONE_TYPE_KEYWORDS = new Set(['maxLength', 'minLength', 'pattern', 'format', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf']);

let ajvs: Record<'first' | 'all', InstanceType<typeof Ajv2020>> | undefined;
function ajvFor(all: boolean): InstanceType<typeof Ajv2020> {
  ajvs ??= {
    first: new Ajv2020({ strictNumbers: true, allowUnionTypes: true, verbose: true, allErrors: false, keywords: [MESSAGES] }),
    all: new Ajv2020({ strictNumbers: true, allowUnionTypes: true, verbose: true, allErrors: true, keywords: [MESSAGES] }),
  };
  return all ? ajvs.all : ajvs.first;
}

/** At most this many issues are described (a 1 MiB array of wrong items is one answer, not a megabyte of them). */
export const MAX_ISSUES = 20;

export function compileSchema(schema: z.ZodType, opts: CompileOptions = {}): CompiledSchema {
  const jsonSchema = jsonSchemaOf(schema);
  const validate = ajvFor(opts.allErrors ?? false).compile(jsonSchema) as ValidateFunction;
  return {
    jsonSchema,
    issues(value) {
      if (validate(value)) return undefined;
      return describeErrors(validate.errors ?? [], value);
    },
  };
}

function describeErrors(errors: readonly ErrorObject[], root: unknown): SchemaIssue[] {
  const out: SchemaIssue[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    // A property name's own failure (minLength of the name) is told by the propertyNames error after it.
    if (e.keyword !== 'propertyNames' && e.params && 'propertyName' in e.params) continue;
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf' || e.keyword === 'if') {
      // The branches' errors came first; one line for the whole value instead.
      const path = segments(e.instancePath, root);
      while (out.length && startsWith(out[out.length - 1].path, path)) out.pop();
      out.push({ path, message: `expected ${describeBranches(e.schema as Record<string, unknown>[])}, got ${typeName(e.data)}`, meaning: false });
      continue;
    }
    const issue = describe(e, root, errors);
    const key = `${issue.path.join('\u0000')}\u0001${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(issue);
    if (out.length >= MAX_ISSUES) break;
  }
  return out;
}

function describe(e: ErrorObject, root: unknown, all: readonly ErrorObject[]): SchemaIssue {
  const path = segments(e.instancePath, root);
  const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
  const custom = (parent[MESSAGES] as Record<string, string> | undefined)?.[e.keyword];
  const data = e.data;
  const fill = (t: string) => t.replaceAll('{limit}', String((e.params as { limit?: unknown }).limit)).replaceAll('{count}', String(Array.isArray(data) ? data.length : data && typeof data === 'object' ? Object.keys(data).length : data));
  const p = e.params as Record<string, any>;
  switch (e.keyword) {
    case 'type': {
      const types = String(p.type).split(',');
      if (typeof data === 'number' && (types.includes('number') || types.includes('integer'))) {
        // JSON has no Infinity, but 1e999 parses to it: a number of the right type no limit can hold.
        const positive = parent.exclusiveMinimum === 0 && !(data > 0);
        return { path, message: positive ? `must be a positive number (got ${data})` : `must be a finite number (got ${data})`, meaning: true };
      }
      return { path, message: custom ?? `expected ${typeWords(types)}, got ${typeName(data)}`, meaning: false };
    }
    case 'required':
      return { path: [...path, p.missingProperty], message: 'required', meaning: false };
    case 'additionalProperties': {
      const known = Object.keys((parent.properties as object | undefined) ?? {});
      return { path: [...path, p.additionalProperty], message: unknownFieldMessage(p.additionalProperty, known), meaning: false };
    }
    case 'propertyNames': {
      const inner = all.find((x) => x !== e && x.instancePath === e.instancePath && (x.params as { propertyName?: string }).propertyName === p.propertyName);
      const meaning = inner !== undefined && (inner.keyword === 'minLength' || inner.keyword === 'maxLength');
      const nameSchema = (parent.propertyNames ?? {}) as Record<string, unknown>;
      return { path: [...path, p.propertyName], message: custom ?? `"${p.propertyName}" is not a valid name${nameSchema.pattern ? ` (it must match ${nameSchema.pattern})` : ''}`, meaning };
    }
    case 'maxLength':
      return { path, message: custom ? fill(custom) : `longer than ${p.limit} characters`, meaning: true };
    case 'minLength':
      return { path, message: custom ? fill(custom) : p.limit === 1 ? 'must not be empty' : `shorter than ${p.limit} characters`, meaning: true };
    case 'maxProperties':
      return { path, message: custom ? fill(custom) : `more than ${p.limit} fields`, meaning: true };
    case 'minProperties':
      return { path, message: custom ? fill(custom) : `fewer than ${p.limit} fields`, meaning: true };
    case 'maxItems':
      return { path, message: custom ? fill(custom) : `at most ${p.limit} items (got ${fill('{count}')})`, meaning: true };
    case 'minItems':
      return { path, message: custom ? fill(custom) : `at least ${p.limit} items (got ${fill('{count}')})`, meaning: true };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path, message: custom ? fill(custom) : rangeMessage(parent, data), meaning: true };
    case 'pattern':
      return { path, message: custom ?? `"${String(data)}" does not match ${p.pattern}`, meaning: false };
    case 'enum':
      return { path, message: custom ?? `expected one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(data)}`, meaning: false };
    case 'const':
      return { path, message: custom ?? `expected ${JSON.stringify(p.allowedValue)}, got ${JSON.stringify(data)}`, meaning: false };
    default:
      return { path, message: custom ?? e.message ?? `fails ${e.keyword}`, meaning: false };
  }
}

function rangeMessage(s: Record<string, unknown>, got: unknown): string {
  const min = s.minimum as number | undefined;
  const max = s.maximum as number | undefined;
  const safe = (n: number | undefined) => n !== undefined && Math.abs(n) < Number.MAX_SAFE_INTEGER;
  if (s.exclusiveMinimum === 0 && !safe(max)) return `must be a positive number (got ${got})`;
  if (min === 0 && !safe(max)) return `must not be negative (got ${got})`;
  if (safe(min) && safe(max)) return `must be from ${min} to ${max} (got ${got})`;
  if (safe(min)) return `must be at least ${min} (got ${got})`;
  if (safe(max)) return `must be at most ${max} (got ${got})`;
  if (s.exclusiveMinimum !== undefined) return `must be more than ${s.exclusiveMinimum} (got ${got})`;
  return `must be less than ${s.exclusiveMaximum} (got ${got})`;
}

const ARTICLE: Record<string, string> = { object: 'an object', array: 'an array', integer: 'an integer', number: 'a number', string: 'a string', boolean: 'a boolean', null: 'null' };

/** "a number"; "string, number or boolean". */
export function typeWords(types: readonly string[]): string {
  if (types.length === 1) return ARTICLE[types[0]] ?? types[0];
  return `${types.slice(0, -1).join(', ')} or ${types[types.length - 1]}`;
}

function describeBranches(branches: readonly Record<string, unknown>[]): string {
  const types = branches.flatMap((b) => (Array.isArray(b.type) ? b.type : typeof b.type === 'string' ? [b.type] : []));
  return types.length ? typeWords([...new Set(types as string[])]) : 'one of the accepted forms';
}

export function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** "/checks/1/subject/a" → ['checks', 1, 'subject', 'a'] (indexes where the value is an array). */
function segments(pointer: string, root: unknown): (string | number)[] {
  if (pointer === '') return [];
  const out: (string | number)[] = [];
  let cur: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    const index = Array.isArray(cur);
    out.push(index ? Number(seg) : seg);
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
  }
  return out;
}

function startsWith(a: readonly (string | number)[], prefix: readonly (string | number)[]): boolean {
  return a.length >= prefix.length && prefix.every((x, i) => x === a[i]);
}

/** `subject.account`, `checks[1].cost`, `subject["a b"]`: the JSON path every error names. */
export function formatJsonPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(p)) out += out === '' ? p : `.${p}`;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}
