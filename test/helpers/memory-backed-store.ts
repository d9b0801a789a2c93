import { MemoryStore } from '../../src/stores/memory.js';
import type { OpResult, Store, TxOp } from '../../src/stores/store.js';

/**
 * A store whose state lives in a real MemoryStore and whose `apply` a test decides
 * (failing, hanging, or passing through), to exercise the engine's store-failure paths.
 */
export abstract class MemoryBackedStore implements Store {
  abstract readonly name: string;
  readonly inner = new MemoryStore();
  abstract apply(ops: readonly TxOp[], now: number): Promise<OpResult[]>;
  setOverride = this.inner.setOverride.bind(this.inner);
  deleteOverride = this.inner.deleteOverride.bind(this.inner);
  listOverrides = this.inner.listOverrides.bind(this.inner);
  setAttributes = this.inner.setAttributes.bind(this.inner);
  getAttributes = this.inner.getAttributes.bind(this.inner);
  reset = this.inner.reset.bind(this.inner);
  size = this.inner.size.bind(this.inner);
  ping = this.inner.ping.bind(this.inner);
  close = this.inner.close.bind(this.inner);
}
