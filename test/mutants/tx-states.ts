import type { StateRef } from '../../src/stores/store.js';
import type { StateAccess } from '../../src/stores/transaction.js';

/** An in-memory StateAccess that records every read and write, for the transaction tests. */
export class States implements StateAccess {
  readonly map = new Map<string, number[]>();
  readonly writes: [string, number[] | null, number][] = [];
  readonly reads: string[] = [];
  /** A key whose read throws, as a store's read may (a corrupt row, an I/O error). */
  failing?: string;
  overrides = new Map<string, { limit: number; windowMs: number }>();
  attributes = new Map<string, Record<string, number>>();
  constructor(init: Record<string, number[]> = {}) {
    for (const [k, v] of Object.entries(init)) this.map.set(k, v);
  }
  read(ref: StateRef) {
    this.reads.push(ref.key);
    if (ref.key === this.failing) throw new Error(`cannot read ${ref.key}`);
    return this.map.get(ref.key) ?? null;
  }
  write(ref: StateRef, state: number[] | null, expiresAt: number) {
    this.writes.push([ref.key, state && [...state], expiresAt]);
    if (state) this.map.set(ref.key, [...state]);
    else this.map.delete(ref.key);
  }
  override(ref: StateRef) {
    return this.overrides.get(ref.key);
  }
  attribute(entity: string, name: string) {
    return this.attributes.get(entity)?.[name];
  }
}
