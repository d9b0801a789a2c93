/**
 * A state as Redis keeps it (format 3, at keys ending in STATE_SUFFIX): its numbers as
 * little-endian doubles, then one more, the key's deadline (ms, on the clock the state was
 * written by), which the script compares to keep a key's TTL when it has not changed. The
 * scripts read and write them with struct.unpack/struct.pack (lua/state-codec.ts): exact, and
 * far cheaper in Lua than printing and parsing text.
 */

export function encodeState(state: readonly number[], deadline: number): Buffer {
  const b = Buffer.allocUnsafe((state.length + 1) * 8);
  for (let i = 0; i < state.length; i++) b.writeDoubleLE(state[i], i * 8);
  b.writeDoubleLE(deadline, state.length * 8);
  return b;
}

/** The numbers of a stored state (without its deadline); null for a missing key. */
export function decodeState(raw: Buffer | null): number[] | null {
  if (raw === null || raw.length === 0) return null;
  if (raw.length % 8 !== 0 || raw.length < 16) throw new Error(`sluice redis store: a state of ${raw.length} bytes is not in format 3`);
  const out = new Array<number>(raw.length / 8 - 1);
  for (let i = 0; i < out.length; i++) out[i] = raw.readDoubleLE(i * 8);
  return out;
}
