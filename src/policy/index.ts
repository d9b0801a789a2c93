export { loadPolicy, loadPolicyText, type PolicySource } from './load.js';
export { compilePolicy } from './compile.js';
export { PolicyError, ConfigError, formatIssue, type PolicyIssue } from './errors.js';
export { policyEnvironment, type EnvironmentIssue } from './environment.js';
export { parseDuration, parseLimit, parseSize, formatDuration } from './units.js';
export type * from './compiled.js';
export type { PolicyDocument, RuleDocument } from './schema.js';
