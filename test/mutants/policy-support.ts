import { PolicyError, type PolicyIssue } from '../../src/policy/errors.js';
import { loadPolicyText } from '../../src/policy/load.js';

/** The issues f throws (the test fails if it throws none, or something else). */
export function issuesOf(f: () => unknown): PolicyIssue[] {
  try {
    f();
  } catch (e) {
    if (e instanceof PolicyError) return e.issues;
    throw e;
  }
  throw new Error('no PolicyError');
}

/** A policy text's issues as "line:column path: message", the way a user reads them. */
export const issuesAt = (text: string): string[] => issuesOf(() => loadPolicyText(text, 'p.yaml')).map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
