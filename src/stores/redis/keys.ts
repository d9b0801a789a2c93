import { keyTag } from '../../engine/keys.js';

/**
 * Where Sluice keeps things in Redis. Every key carries a hash tag, so keys of rules
 * keyed on the same values ("acme") land in one Cluster slot and one script call:
 *
 *   <prefix>{<tag>}:<stateKey>        algorithm state ("rule|acme"), and block penalties ("rule!b|acme")
 *   <prefix>{<tag>}:<stateKey>:o      a run-time override of that key's limit (same slot as the state)
 *   <prefix>{<value>}:@<entity>       attributes of an entity such as "tenant:acme" (hash), tagged with
 *                                     the entity's value so a rule keyed on [tenant] reads it in-slot
 *   <prefix>overrides                 every run-time override as JSON, for listing (hash)
 */
export class KeySpace {
  constructor(readonly prefix: string) {}

  /** The physical key for a state key, under a hash tag (the engine's TxOp.tag, which is keyTag(key)). */
  state(key: string, tag: string = keyTag(key)): string {
    return `${this.prefix}{${tag}}:${key}`;
  }

  override(key: string): string {
    return `${this.state(key)}:o`;
  }

  attributes(entity: string): string {
    const i = entity.indexOf(':');
    const value = i < 0 ? entity : entity.slice(i + 1);
    const tag = value.includes('|') || value.includes('%') ? encodeURIComponent(value) : value;
    return `${this.prefix}{${tag}}:@${entity}`;
  }

  get overrideIndex(): string {
    return `${this.prefix}overrides`;
  }
}
