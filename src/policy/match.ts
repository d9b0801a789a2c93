import type { MatchValue } from './schema.js';
import type { Subject } from './compiled.js';

/** Compiles a rule's `match` into one predicate over a subject. */
export function compileMatch(
  match: Record<string, MatchValue> | undefined,
  groups: ReadonlyMap<string, ReadonlySet<string>>,
  requiredAttrs: readonly string[],
): (s: Subject) => boolean {
  const tests: ((s: Subject) => boolean)[] = [];
  for (const [attr, value] of Object.entries(match ?? {})) tests.push(compileOne(attr, value, groups));
  for (const attr of requiredAttrs) tests.push((s) => present(s[attr]));

  // Stryker disable next-line ConditionalExpression: skipping the shortcut, the loop below answers true for no tests too
  if (tests.length === 0) return () => true;
  if (tests.length === 1) return tests[0];
  // Stryker disable next-line ConditionalExpression,BlockStatement: a shortcut only; the loop below gives the same answer
  if (tests.length === 2) {
    const [a, b] = tests;
    return (s) => a(s) && b(s);
  }
  return (s) => {
    for (const t of tests) if (!t(s)) return false;
    return true;
  };
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}

function compileOne(attr: string, value: MatchValue, groups: ReadonlyMap<string, ReadonlySet<string>>): (s: Subject) => boolean {
  if (typeof value === 'object' && !Array.isArray(value)) {
    if ('group' in value) {
      const names = Array.isArray(value.group) ? value.group : [value.group];
      const members = new Set<string>();
      // Stryker disable next-line ArrayDeclaration: an unknown group is an error the compiler reports, so this policy never loads; the default only satisfies the type
      for (const n of names) for (const m of groups.get(n) ?? []) members.add(m);
      return (s) => present(s[attr]) && members.has(String(s[attr]));
    }
    if ('not' in value) {
      const inner = valueTest(asComparedFor(attr, Array.isArray(value.not) ? value.not : [value.not]));
      const read = readerFor(attr);
      return (s) => !present(s[attr]) || !inner(read(s[attr]));
    }
    const want = value.exists;
    return (s) => present(s[attr]) === want;
  }
  const test = valueTest(asComparedFor(attr, Array.isArray(value) ? value : [value]));
  const read = readerFor(attr);
  return (s) => present(s[attr]) && test(read(s[attr]));
}

/**
 * `path` and `method` are compared as routes compare them, whoever gives the subject (the
 * gateway and middleware normalise them; a /v1/check caller may not): a path in lower case
 * without a trailing `/`, a method in upper case, and GET standing for HEAD too (Express and
 * most upstreams serve HEAD with the GET handler, so a HEAD would otherwise pass a rule on GET).
 * Every other attribute is compared exactly as written.
 */
const FOLDED = new Set(['path', 'method']);

function fold(attr: string, v: string): string {
  if (attr === 'method') return v.toUpperCase();
  return (v.length > 1 && v.endsWith('/') ? v.slice(0, -1) : v).toLowerCase();
}

/** How a subject's value of attr is read for comparing, chosen once when the rule compiles (not on every check). */
function readerFor(attr: string): (v: unknown) => string {
  return FOLDED.has(attr) ? (v) => fold(attr, String(v)) : String;
}

function asComparedFor(attr: string, values: readonly (string | number | boolean)[]): string[] {
  if (!FOLDED.has(attr)) return values.map(String);
  const list = values.map((v) => fold(attr, String(v)));
  return attr === 'method' && list.includes('GET') && !list.includes('HEAD') ? [...list, 'HEAD'] : list;
}

/** Exact values go in a Set; values with * or ? are globs. */
function valueTest(values: readonly (string | number | boolean)[]): (v: string) => boolean {
  const exact = new Set<string>();
  const globs: RegExp[] = [];
  for (const v of values) {
    const s = String(v);
    // Stryker disable next-line ConditionalExpression: a value without * or ? compiles to an anchored regex of itself, the same test as the Set
    if (/[*?]/.test(s)) globs.push(globToRegExp(s));
    else exact.add(s);
  }
  // Stryker disable next-line ConditionalExpression,BlockStatement: a shortcut only; the mixed test below gives the same answer without globs
  if (globs.length === 0) {
    // Stryker disable next-line ConditionalExpression,BlockStatement: a shortcut only; the Set gives the same answer for one value
    if (exact.size === 1) {
      const only = exact.values().next().value as string;
      return (v) => v === only;
    }
    return (v) => exact.has(v);
  }
  return (v) => exact.has(v) || globs.some((g) => g.test(v));
}

export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/**
 * The attributes a `match` requires to have one of a set of exact values (a value, a list
 * without globs, groups), each with its values; undefined when there is none. A subject
 * whose value is not in the set can never match the rule (see ./rule-index.ts).
 */
export function exactValues(match: Record<string, MatchValue> | undefined, groups: ReadonlyMap<string, ReadonlySet<string>>): Record<string, ReadonlySet<string>> | undefined {
  let out: Record<string, ReadonlySet<string>> | undefined;
  for (const [attr, value] of Object.entries(match ?? {})) {
    let values: Set<string> | undefined;
    if (typeof value === 'object' && !Array.isArray(value)) {
      if ('group' in value) {
        values = new Set();
        for (const n of Array.isArray(value.group) ? value.group : [value.group]) for (const m of groups.get(n) ?? []) values.add(m);
      }
    } else if (!FOLDED.has(attr)) {
      // path and method are folded before they are compared (see FOLDED): the index, which looks values up as given, leaves them to the predicate
      const list = (Array.isArray(value) ? value : [value]).map(String);
      if (!list.some((v) => /[*?]/.test(v))) values = new Set(list);
    }
    if (values) (out ??= {})[attr] = values;
  }
  return out;
}
