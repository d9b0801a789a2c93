/**
 * A state as Redis keeps it (format 2, at keys ending in STATE_SUFFIX): its numbers as
 * little-endian doubles, which the scripts read and write with struct.unpack/struct.pack
 * (lua/state-codec.ts). Exact, and far cheaper in Lua than printing and parsing text.
 */

export function encodeState(state: readonly number[]): Buffer {
  const b = Buffer.allocUnsafe(state.length * 8);
  for (let i = 0; i < state.length; i++) b.writeDoubleLE(state[i], i * 8);
  return b;
}

/** The numbers of a stored state; null for a missing key. */
export function decodeState(raw: Buffer | null): number[] | null {
  if (raw === null || raw.length === 0) return null;
  if (raw.length % 8 !== 0) throw new Error(`sluice redis store: a state of ${raw.length} bytes is not in format 2`);
  const out = new Array<number>(raw.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = raw.readDoubleLE(i * 8);
  return out;
}
