import type { EnvoyDomain, EnvoyLimit, EnvoyNode } from './config.js';
import type { RateLimitEntry } from './types.js';

/**
 * Finds the configured limit for one request descriptor, as envoyproxy/ratelimit does:
 * walk the tree one entry at a time, at each level preferring
 *   1. the exact key + value,
 *   2. a wildcard value ("foo*": the first, in file order, whose prefix the value starts with),
 *   3. the key alone (the default for any value);
 * the limit applies only if the node reached by the descriptor's LAST entry has a
 * rate_limit. A node with a limit part-way down does not apply to a longer descriptor,
 * and a walk that runs out of configured levels early matches nothing (envoy's
 * "request depth does not match config depth").
 */
export function findLimit(domain: EnvoyDomain, entries: readonly RateLimitEntry[]): EnvoyLimit | undefined {
  let level: EnvoyNode = domain.root;
  for (let i = 0; i < entries.length; i++) {
    const { key, value } = entries[i];
    const next = step(level, key, value);
    if (!next) return undefined;
    if (i === entries.length - 1) return next.limit;
    level = next;
  }
  return undefined;
}

function step(level: EnvoyNode, key: string, value: string): EnvoyNode | undefined {
  const exact = level.exact.get(`${key}\0${value}`);
  if (exact) return exact;
  const wild = level.wildcards.get(key);
  if (wild) for (const w of wild) if (value.startsWith(w.prefix)) return w.node;
  return level.byKey.get(key);
}
