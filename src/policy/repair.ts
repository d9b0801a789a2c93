import type { z } from 'zod';
import { formatPath } from './errors.js';
import { closest } from './suggest.js';

/**
 * A copy of a document the schema refused, with what it refused taken out, so the
 * compiler can still check the rest: a misspelt field must not hide a zero window in
 * the same rule, nor a bad `algorithm:` hide `block` on a shadow rule. Its issues are
 * not reported again (the schema's are); only what the compiler finds in what is left.
 *
 * - an unknown field is dropped;
 * - a bad choice ("sliding-lgo") becomes the closest valid one when there is one, so
 *   the checks that depend on it (burst needs gcra) judge what was meant, else it is dropped;
 * - any other bad value is dropped; a rule that loses its name or limit is set aside
 *   (`setAside`), and the compiler skips it rather than inventing errors about it.
 */
export interface Repaired {
  data: unknown;
  /** Indexes of rules too broken to compile. */
  setAside: Set<number>;
  /** The paths that were changed: what the compiler says of the objects holding them follows from the repair, and is not reported. */
  touched: string[];
}

type Path = (string | number)[];

export function repairDocument(value: unknown, schema: z.ZodType, firstIssues: readonly z.core.$ZodIssue[]): Repaired | undefined {
  const doc = structuredClone(value) as Record<string, unknown>;
  const setAside = new Set<number>();
  const touched: string[] = [];
  let issues = firstIssues;
  for (let round = 0; round < 8; round++) {
    for (const issue of issues) {
      if (!fix(doc, issue, setAside)) return undefined;
      // Stryker disable next-line MethodExpression,ConditionalExpression,StringLiteral: a parsed YAML or JSON document has no symbol keys; the filter is for the type
      touched.push(formatPath(issue.path.filter((p): p is string | number => typeof p !== 'symbol')));
    }
    const again = schema.safeParse(doc);
    if (again.success) return { data: again.data, setAside, touched };
    issues = again.error.issues;
  }
  return undefined;
}

/** Applies one issue's repair; false when the document cannot be repaired (a top-level field is unusable). */
function fix(doc: Record<string, unknown>, issue: z.core.$ZodIssue, setAside: Set<number>): boolean {
  // Stryker disable next-line MethodExpression,ConditionalExpression,StringLiteral: a parsed YAML or JSON document has no symbol keys; the filter is for the type
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    // Unknown keys are reported on the object that has them.
    const parent = at(doc, path) as Record<string, unknown>;
    for (const k of issue.keys) delete parent[k];
    return true;
  }
  if (issue.code === 'invalid_value') {
    const current = at(doc, path);
    const choices = issue.values.filter((v): v is string => typeof v === 'string');
    const hint = typeof current === 'string' ? closest(current, choices) : undefined;
    // Stryker disable next-line ConditionalExpression: every choice field is optional, so setting it to undefined is the removal below
    if (hint !== undefined) return set(doc, path, hint);
  }
  if (path[0] === 'rules' && typeof path[1] === 'number' && (path.length === 2 || path[2] === 'name' || path[2] === 'limit')) {
    // Without a name or a limit there is no rule to check: a placeholder keeps the others' indexes.
    setAside.add(path[1]);
    return set(doc, path.slice(0, 2), { name: `set-aside-${path[1]}`, limit: '1/1s' });
  }
  // A missing required field: the object that needs it goes; a bad value: the value goes.
  return remove(doc, at(doc, path) === undefined ? path.slice(0, -1) : path);
}

function at(root: unknown, path: Path): unknown {
  let cur = root;
  // Stryker disable next-line OptionalChaining: an issue's path runs through objects and lists to at most one step past them
  for (const p of path) cur = (cur as Record<string | number, unknown> | null | undefined)?.[p];
  return cur;
}

function set(root: Record<string, unknown>, path: Path, v: unknown): boolean {
  const parent = at(root, path.slice(0, -1));
  // Stryker disable next-line ConditionalExpression,LogicalOperator,BooleanLiteral: zod reports an issue only inside an object or list it found, so the parent is always one
  if (parent === null || typeof parent !== 'object') return false;
  (parent as Record<string | number, unknown>)[path[path.length - 1]] = v;
  return true;
}

/** Deletes a field; an element of a list takes its list with it (indexes of what is reported stay true). The rules list is never removed. */
function remove(root: Record<string, unknown>, path: Path): boolean {
  // Stryker disable next-line ConditionalExpression,LogicalOperator,StringLiteral,BooleanLiteral: a shortcut only: without rules no round can succeed, so repairDocument gives up after its eight rounds anyway
  if (path.length === 0 || (path.length === 1 && path[0] === 'rules')) return false;
  const parent = at(root, path.slice(0, -1));
  // Stryker disable next-line ConditionalExpression,LogicalOperator,BooleanLiteral: zod reports an issue only inside an object or list it found, so the parent is always one
  if (parent === null || typeof parent !== 'object') return false;
  if (Array.isArray(parent)) return remove(root, path.slice(0, -1));
  delete (parent as Record<string | number, unknown>)[path[path.length - 1]];
  return true;
}
