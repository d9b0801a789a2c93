import { MemoryStore } from '../stores/memory.js';
import { openStore } from '../stores/open.js';
import { redact } from '../stores/redis/connection.js';
import type { Store } from '../stores/store.js';

/** Store specs: 'memory' | 'sqlite:./data/sluice.db' | 'redis://…' | 'redis+cluster://…', or a Store instance. */
export type StoreSpec = string | Store;

/**
 * Opens the store the service runs on. A Store instance is used as given and stays
 * the caller's to close (tests share one between instances); a spec is opened with
 * openStore and closed with the service.
 */
export async function resolveStore(spec: StoreSpec | undefined, opts: { maxKeys?: number } = {}): Promise<{ store: Store; owned: boolean; description: string }> {
  if (spec !== undefined && typeof spec !== 'string') return { store: spec, owned: false, description: spec.name };
  const text = (spec ?? 'memory').trim();
  if (text === '' || text === 'memory') return { store: new MemoryStore({ maxKeys: opts.maxKeys }), owned: true, description: 'memory' };
  return { store: await openStore(text, { maxKeys: opts.maxKeys }), owned: true, description: redact(text) };
}
