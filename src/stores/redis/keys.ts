import { escapeValue, KEY_EXTRA } from '../key-codec.js';

/**
 * The suffix of a state key: the format its value is in. Format 3 is packed little-endian
 * doubles followed by the key's deadline (state-codec.ts). Earlier formats (2: the doubles
 * alone; 1: %.17g text at the bare name) are never read again and expire within their window,
 * so no value is misread; during a rolling upgrade, old and new instances count apart for
 * up to one window.
 */
export const STATE_SUFFIX = ':v3';

/**
 * Where Sluice keeps things in Redis. Every key carries a hash tag, so keys of rules
 * keyed on the same values ("acme") land in one Cluster slot and one script call:
 *
 *   <prefix>{<tag>}:<stateKey>:v3     algorithm state ("rule|acme"), and block penalties ("rule!b|acme")
 *   <prefix>{<tag>}:<stateKey>:o      a run-time override of that key's limit (same slot as the state)
 *   <prefix>{<value>}:@<entity>       attributes of an entity such as "tenant:acme" (hash), tagged with
 *                                     the entity's value so a rule keyed on [tenant] reads it in-slot
 *   <prefix>instances                 heartbeats of the instances using this Redis (sorted set, instances.ts)
 *   <prefix>overrides                 every run-time override as JSON, for listing (hash); on a
 *                                     single node, scripts look overrides up only while it exists
 *
 * The script is handed state keys whole and derives each override key from its state key.
 */
export class KeySpace {
  constructor(readonly prefix: string) {}

  /** The name a state key and its override key derive from (the engine's TxOp.tag is keyTag(key)). */
  base(key: string, tag: string = keyTag(key)): string {
    return `${this.prefix}{${tag}}:${key}`;
  }

  /** The physical key holding a state. */
  state(key: string, tag?: string): string {
    return this.base(key, tag) + STATE_SUFFIX;
  }

  override(key: string): string {
    return `${this.base(key)}:o`;
  }

  attributes(entity: string): string {
    const i = entity.indexOf(':');
    const value = i < 0 ? entity : entity.slice(i + 1);
    const tag = escapeValue(value, KEY_EXTRA);
    return `${this.prefix}{${tag}}:@${entity}`;
  }

  /** Heartbeats of the instances sharing this Redis (sorted set: id → last beat). */
  get instances(): string {
    return `${this.prefix}instances`;
  }

  get overrideIndex(): string {
    return `${this.prefix}overrides`;
  }

  /** The pub/sub channel on which instances tell each other of overrides, resets and attribute changes. */
  get invalidateChannel(): string {
    return `${this.prefix}invalidate`;
  }
}

/** The part of a state key ("rule|values") after the rule name: rules keyed on the same values share a slot. */
export function keyTag(key: string): string {
  const i = key.indexOf('|');
  return i < 0 ? key : key.slice(i + 1);
}
