/** "did you mean …?" for misspelt field and group names. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  // Only suggest what is plausibly a typo: at most a third of the word differs.
  // Stryker disable next-line ConditionalExpression: best is undefined only while bestDistance is Infinity, which the distance test refuses anyway
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length];
}

/** The one wording of an unknown field, on every surface: the decision and admin APIs, the policy and Envoy files. */
export function unknownFieldMessage(key: string, known: readonly string[]): string {
  const hint = closest(key, known);
  return `unknown field "${key}"${hint ? ` (did you mean "${hint}"?)` : known.length ? ` (known fields: ${known.join(', ')})` : ''}`;
}
