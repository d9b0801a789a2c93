import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { compilePolicy, type Locate } from './compile.js';
import type { CompiledPolicy } from './compiled.js';
import { formatPath, PolicyError, type PolicyIssue } from './errors.js';
import { policySchema, type PolicyDocument } from './schema.js';
import { repairDocument } from './repair.js';
import { closest, unknownFieldMessage } from './suggest.js';

/** A policy given as a file path, YAML/JSON text, or an already-parsed object. */
export type PolicySource = string | Record<string, unknown>;

/**
 * Loads, validates and compiles a policy. Every problem is reported at once, each
 * with its file, line, column and field path; on any problem nothing is returned.
 */
export function loadPolicy(source: PolicySource, opts: { file?: string } = {}): CompiledPolicy {
  if (typeof source === 'object') return validate(source, { file: opts.file });
  const looksLikePath = !source.includes('\n') && /\.(ya?ml|json)$/i.test(source.trim());
  if (looksLikePath) {
    let text: string;
    try {
      text = readFileSync(source.trim(), 'utf8');
    } catch (e) {
      throw new PolicyError([{ path: '', message: `cannot read policy file: ${(e as Error).message}`, file: source.trim() }]);
    }
    return loadPolicyText(text, source.trim());
  }
  return loadPolicyText(source, opts.file);
}

export function loadPolicyText(text: string, file?: string): CompiledPolicy {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    throw new PolicyError(
      doc.errors.map((e) => {
        // Stryker disable next-line OptionalChaining: with prettyErrors and a LineCounter the yaml parser gives every error its linePos
        const pos = e.linePos?.[0];
        // Stryker disable next-line OptionalChaining: see above, pos is always set
        return { path: '', message: e.message.split('\n')[0], file, line: pos?.line, column: pos?.col };
      }),
    );
  }
  const value = doc.toJS();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PolicyError([{ path: '', message: 'a policy is a mapping with at least a `rules:` list', file, line: 1 }]);
  }
  return validate(value, { file, locate: locator(doc, lines) });
}

function validate(value: unknown, opts: { file?: string; locate?: Locate }): CompiledPolicy {
  const parsed = policySchema.safeParse(value);
  if (parsed.success) return compilePolicy(parsed.data, opts);
  const issues = parsed.error.issues.flatMap((i) => describe(i, value, opts));
  // Every error in one pass: what the schema refused is taken out, and the rest is compiled too.
  const repaired = repairDocument(value, policySchema, parsed.error.issues);
  if (repaired) {
    try {
      compilePolicy(repaired.data as PolicyDocument, { ...opts, setAside: repaired.setAside, ruleNames: ruleNamesIn(value) });
    } catch (e) {
      // Stryker disable next-line ConditionalExpression: compilePolicy throws nothing but PolicyError; any other error is still not swallowed
      if (!(e instanceof PolicyError)) throw e;
      // Stryker disable next-line ArrowFunction,StringLiteral: the compiler never repeats a schema message (what the schema refused was taken out): a guard only
      const seen = new Set(issues.map((i) => `${i.path}\n${i.message}`));
      const followsFromRepair = (i: PolicyIssue) => repaired.touched.some((t) => t.startsWith(`${i.path}.`) || t.startsWith(`${i.path}[`));
      // Stryker disable next-line StringLiteral: see above
      for (const i of e.issues) if (!seen.has(`${i.path}\n${i.message}`) && !followsFromRepair(i)) issues.push(i);
    }
  }
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  throw new PolicyError(issues);
}

/** The rule names a document gives, even in rules too broken to compile (an override naming one is not "unknown"). */
function ruleNamesIn(value: unknown): Set<string> {
  // Called only once the repair succeeded, which needs `rules` to be a list. Any name is kept:
  // one that is not text matches no override's rule (always text) anyway.
  const rules = (value as { rules: ({ name?: string } | null)[] }).rules;
  return new Set(rules.map((r) => r?.name as string));
}

function describe(issue: z.core.$ZodIssue, root: unknown, opts: { file?: string; locate?: Locate }): PolicyIssue[] {
  // Stryker disable next-line MethodExpression,ConditionalExpression,StringLiteral: a parsed YAML or JSON document has no symbol keys; the filter is for the type
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(path);
    return issue.keys.map((k) => {
      return {
        path: formatPath([...path, k]),
        message: unknownFieldMessage(k, known),
        file: opts.file,
        ...(opts.locate?.([...path, k], true) ?? {}),
      };
    });
  }
  let message = issue.message;
  // A refused record key (a group, attribute or header name): the key's own rule, not zod's "Invalid key in record".
  if (issue.code === 'invalid_key') {
    // Stryker disable next-line StringLiteral: every key check here is one rule with one message; the separator shows only should one get two
    message = issue.issues.map((i) => i.message).join('; ');
  }
  if (issue.code === 'invalid_value') {
    const given = valueAt(root, path);
    const choices = issue.values.filter((v): v is string => typeof v === 'string');
    const hint = typeof given === 'string' ? closest(given, choices) : undefined;
    if (choices.length) message = `"${String(given)}" is not one of ${choices.join(', ')}${hint ? ` (did you mean "${hint}"?)` : ''}`;
  }
  if (issue.code === 'invalid_union') message = unionHint(path) ?? 'this value has none of the accepted forms';
  if ((issue.code === 'invalid_union' || issue.code === 'invalid_type') && valueAt(root, path) === undefined) {
    message = issue.code === 'invalid_union' && unionHint(path) ? `this field is required: ${unionHint(path)}` : 'this field is required';
  }
  return [{ path: formatPath(path), message, file: opts.file, ...(opts.locate?.(path) ?? {}) }];
}

function unionHint(path: readonly (string | number)[]): string | undefined {
  const last = [...path].reverse().find((p) => typeof p === 'string');
  switch (last) {
    case 'limit':
      return 'write a limit like "60/1m", "1/3s" or "5GB/5d"';
    case 'cost':
      return 'cost is a positive number, "bytes", or { attribute: name }';
    case 'count':
      return 'count is request, failure, success, or a list of statuses such as [401, 403] or [4xx]';
    case 'key':
      return 'key is an attribute name or a list of them, e.g. [account] or [contact, question]';
    case 'scale':
      return 'scale is an attribute name or { attribute, of, default }';
    default:
      return path[path.length - 2] === 'match'
        ? 'a match value is a value, a list, a glob such as "/v1/*", { group: name }, { not: value } or { exists: true }'
        : undefined;
  }
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let cur: unknown = root;
  // Stryker disable next-line OptionalChaining: an issue's path runs through objects and lists to at most one step past them
  for (const p of path) cur = (cur as Record<string | number, unknown> | null | undefined)?.[p];
  return cur;
}

/** The fields the schema accepts at a path, for "did you mean" suggestions (none inside a record: its keys are the user's). */
function knownKeysAt(path: readonly (string | number)[]): string[] {
  let shape: unknown = policySchema;
  for (const p of path) {
    const s = optionalInner(shape);
    shape = typeof p === 'number' ? (s instanceof z.ZodArray ? s.element : undefined) : s instanceof z.ZodObject ? s.shape[p] : undefined;
  }
  const obj = optionalInner(shape);
  return obj instanceof z.ZodObject ? Object.keys(obj.shape) : [];
}

const optionalInner = (s: unknown): unknown => (s instanceof z.ZodOptional ? s.unwrap() : s);

/** Maps a field path to its line and column in the YAML source. */
export function locator(doc: Document, lines: LineCounter): Locate {
  return (path, keyOfLast = false) => {
    let node: unknown = doc.contents;
    let best: unknown = node;
    for (let i = 0; i < path.length; i++) {
      const p = path[i];
      if (isMap(node)) {
        const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && it.key.value === p);
        if (!pair) break;
        const last = i === path.length - 1;
        node = last && keyOfLast ? pair.key : pair.value ?? pair.key;
        best = node;
      // Stryker disable next-line ConditionalExpression,LogicalOperator: below a mapping an issue's path only steps into lists, by index; nothing else reaches here
      } else if (node && typeof node === 'object' && 'items' in node && Array.isArray((node as { items: unknown[] }).items) && typeof p === 'number') {
        node = (node as { items: unknown[] }).items[p];
        // Stryker disable next-line ConditionalExpression: an issue's index is always within its list
        if (!node) break;
        best = node;
      } else break;
    }
    // Stryker disable next-line OptionalChaining: best starts at the document's contents, a mapping, and only ever becomes a node
    const range = (best as { range?: [number, number, number] } | undefined)?.range;
    // Stryker disable next-line ConditionalExpression: a parsed node always has its range
    if (!range) return {};
    const pos = lines.linePos(range[0]);
    return { line: pos.line, column: pos.col };
  };
}
