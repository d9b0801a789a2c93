/** The dashboard tests' policies: one account rule (3 a minute), plus what a test needs beside it. */
export function accountPolicy(...more: string[]): string {
  return ['version: 1', 'rules:', '  - name: per-account', '    key: [account]', '    limit: 3/1m', ...more].join('\n') + '\n';
}

/** A rule in the policy's list, from its lines (indented for it here). */
export function rule(...lines: string[]): string {
  return lines.map((l, i) => (i === 0 ? `  - ${l}` : `    ${l}`)).join('\n');
}
