import { loadPolicyText, PolicyError, type PolicyIssue } from '../../src/policy/index.js';

/** The issues a policy text is refused with (the test fails if it is accepted). */
export function issues(text: string): PolicyIssue[] {
  try {
    loadPolicyText(text, 'policy.yaml');
  } catch (e) {
    if (e instanceof PolicyError) return e.issues;
    throw e;
  }
  throw new Error('expected the policy to be refused');
}
