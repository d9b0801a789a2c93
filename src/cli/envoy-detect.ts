import { readFileSync, statSync } from 'node:fs';
import { isMap, isScalar, parseDocument } from 'yaml';

/**
 * Whether a file given where a policy is expected is an Envoy ratelimit config instead
 * (top-level `domain:` and no `rules:`), or a directory (Envoy reads directories of them;
 * a policy is one file). `validate` and `serve --config` then load it as Envoy's, rather
 * than listing the policy errors a domain/descriptors file would raise.
 */
export function isEnvoyConfigFile(path: string): boolean {
  try {
    if (statSync(path).isDirectory()) return true;
    const doc = parseDocument(readFileSync(path, 'utf8'));
    const top = doc.contents;
    if (!isMap(top)) return false;
    const keys = new Set(top.items.map((p) => (isScalar(p.key) ? String(p.key.value) : '')));
    return keys.has('domain') && !keys.has('rules');
  } catch {
    return false; // unreadable or not YAML: the policy loader says why, with its place
  }
}
