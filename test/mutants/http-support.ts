import { compileRoutes, SubjectError, type RequestInfo } from '../../src/http/subject.js';
import type { CompiledRoute } from '../../src/policy/compiled.js';

/** A GET of / from 203.0.113.9 without headers; `over` changes any field. */
export const req = (over: Partial<RequestInfo> = {}): RequestInfo => ({ method: 'GET', url: '/', headers: {}, remoteAddress: '203.0.113.9', ...over });

/** The SubjectError `f` throws; fails when it throws nothing or something else. */
export function errorOf(f: () => unknown): SubjectError {
  try {
    f();
  } catch (e) {
    if (e instanceof SubjectError) return e;
    throw e;
  }
  throw new Error('did not throw');
}

/** A route table as a function of (method, path) to the attributes it sets. */
export function routeTable(routes: CompiledRoute[]) {
  const t = compileRoutes(routes)!;
  return (method: string, path: string) => {
    const into: Record<string, string | number | boolean> = {};
    t(method, path, into);
    return into;
  };
}
