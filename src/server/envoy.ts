import type { FastifyInstance } from 'fastify';

/**
 * The hook for Envoy's rate-limit protocol (src/envoy, built by another engineer).
 * The module is optional: when src/envoy/index.ts is absent from this build, the
 * service runs without POST /json and without the gRPC listener.
 */
export interface EnvoyModule {
  registerEnvoyJson?: (app: FastifyInstance, opts: Record<string, unknown>) => unknown;
  startEnvoyGrpc?: (opts: Record<string, unknown> & { port: number }) => unknown;
}

/** A started gRPC listener, as far as serve() needs to know it. */
export interface EnvoyGrpcHandle {
  port?: number;
  close?: () => unknown;
  stop?: () => unknown;
}

let cached: Promise<EnvoyModule | undefined> | undefined;

export function loadEnvoy(): Promise<EnvoyModule | undefined> {
  return (cached ??= importOptional<EnvoyModule>('../envoy/index'));
}

/**
 * Imports a sibling module that may not exist yet. The specifier is built at run time
 * so the compiler does not require the file; dist has .js, the sources (tests) .ts.
 */
export async function importOptional<T>(relative: string): Promise<T | undefined> {
  for (const ext of ['.js', '.ts']) {
    const url = new URL(`${relative}${ext}`, import.meta.url);
    try {
      return (await import(/* @vite-ignore */ url.href)) as T;
    } catch (e) {
      const code = (e as { code?: string }).code;
      const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_UNKNOWN_FILE_EXTENSION' || /Cannot find module|Failed to load url|does not exist/i.test(String((e as Error).message));
      if (!missing) throw e;
    }
  }
  return undefined;
}
