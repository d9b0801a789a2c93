import type { StateRef, Store } from './store.js';
import type { StateAccess } from './transaction.js';

export type StateReader = NonNullable<Store['readStates']>;

/**
 * How to read a store's states for admin reads (inspect's real usage): its readStates
 * capability (SQLite, Redis, a wrapper passing them on), or, for a store that reads
 * synchronously through StateAccess (memory), straight from it (copied: its fixed-size reads
 * share a scratch array). Undefined when the store can do neither: the caller then falls
 * back to what a peek tells (limit − remaining).
 */
export function stateReader(store: Store): StateReader | undefined {
  if (store.readStates) return (refs, now) => store.readStates!(refs, now);
  const access = store as Store & Partial<StateAccess>;
  if (store.synchronous && typeof access.read === 'function') {
    return async (refs: readonly StateRef[], now: number) => ({ states: refs.map((r) => access.read!(r)?.slice() ?? null), now });
  }
  return undefined;
}
