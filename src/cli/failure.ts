import { ConfigError, PolicyError, formatIssue } from '../policy/errors.js';

/** What the CLI prints for a failure, and its exit code: 1 for a broken policy, 2 for usage and configuration. */
export interface CliFailure {
  lines: string[];
  exitCode: 1 | 2;
}

/**
 * Turns whatever stopped a command into lines a person can act on — what failed and where —
 * never a stack trace. Errors nobody anticipated still print one line (name and message).
 */
export function describeFailure(e: unknown): CliFailure {
  if (e instanceof PolicyError) {
    const unreadable = e.issues.length === 1 && /^cannot read policy file/.test(e.issues[0].message);
    const lines = e.issues.map(formatIssue);
    if (!unreadable) lines.push(`${e.issues.length} error${e.issues.length === 1 ? '' : 's'}`);
    return { lines, exitCode: unreadable ? 2 : 1 };
  }
  if (e instanceof ConfigError) return { lines: [`sluice: ${e.message}`], exitCode: 2 };
  const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
  if (err?.code === 'EADDRINUSE' || err?.code === 'EACCES' || err?.code === 'EADDRNOTAVAIL') {
    const where = err.port !== undefined ? `port ${err.port}${err.address ? ` on ${err.address}` : ''}` : 'the address';
    const why = err.code === 'EADDRINUSE' ? 'is already in use' : err.code === 'EACCES' ? 'may not be bound by this user' : 'is not an address of this machine';
    return { lines: [`sluice: ${where} ${why} (${err.code}); stop the other process or choose another with --port / --host`], exitCode: 2 };
  }
  if (err?.code === 'ENOENT' || err?.code === 'EACCES' || err?.code === 'EISDIR') {
    return { lines: [`sluice: cannot read ${err.path ?? 'a file'} (${err.code})`], exitCode: 2 };
  }
  if (err instanceof Error && /^Unknown store /.test(err.message)) return { lines: [`sluice: --store: ${err.message}`], exitCode: 2 };
  const message = err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(e);
  return { lines: [`sluice: ${message.split('\n')[0]}`], exitCode: 1 };
}
