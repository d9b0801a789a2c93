import { createRequire } from 'node:module';
import type FindMyWay from 'find-my-way';

// find-my-way ships CommonJS (`export =`); it is fastify's own router, so a path matches here as it does there.
const Router = createRequire(import.meta.url)('find-my-way') as typeof FindMyWay;
type Method = FindMyWay.HTTPMethod;

/**
 * Which methods each route pattern answers, so a known path asked with the wrong method gets
 * 405 with `Allow` instead of 404. The patterns are matched by find-my-way (fastify's router)
 * rather than by regular expressions written next to fastify's.
 */
export class AllowedMethods {
  private readonly router: FindMyWay.Instance<FindMyWay.HTTPVersion.V1>;
  private readonly methods = new Set<Method>();

  /** maxParamLength as the service's fastify (an attribute value, percent-encoded). */
  constructor(maxParamLength: number) {
    this.router = Router({ ignoreTrailingSlash: true, maxParamLength });
  }

  add(methods: readonly string[], url: string): void {
    for (const m of methods as Method[]) {
      this.methods.add(m);
      if (!this.router.hasRoute(m, url)) this.router.on(m, url, () => undefined);
    }
  }

  /** The methods some route answers on this path, sorted ([] for an unknown path). */
  allowed(path: string): string[] {
    const out: string[] = [];
    if (path[0] !== '/') return out; // an absolute-form target (http://host/…) names no route here
    for (const m of this.methods) if (this.router.find(m, path) !== null) out.push(m);
    return out.sort();
  }
}
