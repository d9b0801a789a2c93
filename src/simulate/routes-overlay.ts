import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { loadPolicy } from '../policy/load.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import { PolicyError } from '../policy/errors.js';
import { routeSchema, subjectSchema } from '../policy/schema.js';

const overlaySchema = z.strictObject({ routes: z.array(routeSchema).optional(), subject: subjectSchema.optional() });

/**
 * A policy with the `routes:` and `subject:` sections of another file (`--routes`),
 * for policies written for the library front door, which have none: the log only
 * knows method, path and headers, and the route table says which API that is. The
 * sections are the policy language's own, compiled by the policy compiler; they
 * replace the policy's own sections when it has them.
 */
export function loadWithRoutes(policyFile: string, routesFile: string): CompiledPolicy {
  loadPolicy(policyFile); // the policy's own errors, with their lines
  let overlay: unknown;
  try {
    overlay = parse(readFileSync(routesFile, 'utf8'));
  } catch (e) {
    throw new PolicyError([{ path: '', message: `cannot read routes file: ${(e as Error).message.split('\n')[0]}`, file: routesFile }]);
  }
  const parsed = overlaySchema.safeParse(overlay ?? {});
  if (!parsed.success) {
    throw new PolicyError(parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message, file: routesFile })));
  }
  const doc = parse(readFileSync(policyFile, 'utf8')) as Record<string, unknown>;
  if (parsed.data.routes) doc.routes = parsed.data.routes;
  if (parsed.data.subject) doc.subject = parsed.data.subject;
  return loadPolicy(doc, { file: policyFile });
}
