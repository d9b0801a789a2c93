/** Policy errors that say what is wrong and where: file, line, column and field path. */

export interface PolicyIssue {
  /** Field path inside the document, e.g. rules[3].limit */
  path: string;
  message: string;
  file?: string;
  line?: number;
  column?: number;
}

export class PolicyError extends Error {
  constructor(readonly issues: PolicyIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'PolicyError';
  }
}

export function formatIssue(i: PolicyIssue): string {
  const where = [i.file ?? '<policy>', i.line, i.column].filter((x) => x !== undefined).join(':');
  return `${where}: ${i.path ? `${i.path}: ` : ''}${i.message}`;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

/**
 * A setting the operator gave cannot be used (an unset environment variable, an unknown
 * store, an unreadable key file): what and where, in one line. The CLI prints the message
 * alone and exits 2; front doors refuse to start with it rather than fail per request.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
