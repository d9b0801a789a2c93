import type { Store } from '../stores/store.js';
import { MemoryStore } from '../stores/memory.js';
import { importOptional } from './envoy.js';

/** Store specs: 'memory' | 'sqlite:./data/sluice.db' | 'redis://…' | 'redis+cluster://…', or a Store instance. */
export type StoreSpec = string | Store;

interface OpenModule {
  openStore?: (spec: string, opts?: Record<string, unknown>) => Store | Promise<Store>;
}

/**
 * Opens the store the service runs on. A Store instance is used as given and stays
 * the caller's to close (tests share one between instances); a spec is opened here
 * (through src/stores/open.ts's openStore when it is part of the build) and closed
 * with the service.
 */
export async function resolveStore(spec: StoreSpec | undefined, opts: { maxKeys?: number } = {}): Promise<{ store: Store; owned: boolean; description: string }> {
  if (spec !== undefined && typeof spec !== 'string') return { store: spec, owned: false, description: spec.name };
  const text = (spec ?? 'memory').trim();
  if (text === '' || text === 'memory') return { store: new MemoryStore({ maxKeys: opts.maxKeys }), owned: true, description: 'memory' };
  const mod = await importOptional<OpenModule>('../stores/open');
  if (!mod?.openStore) {
    throw new Error(`cannot open store "${text}": this build has no store opener (src/stores/open.ts); use --store memory`);
  }
  const store = await mod.openStore(text, opts);
  return { store, owned: true, description: redact(text) };
}

/** Hides a password in a store URL before it is logged. */
export function redact(spec: string): string {
  return spec.replace(/^([a-z+]+:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}
