/**
 * A JSON body rendered by hand on a hot path, and whether it is all ASCII. An ASCII body's
 * length is its byte length (no Buffer.byteLength scan) and it can be written as latin1,
 * which node copies instead of encoding to UTF-8: the same bytes either way.
 */
export interface JsonText {
  readonly text: string;
  readonly ascii: boolean;
}

export function isAscii(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(s);
}
