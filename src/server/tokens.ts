import { readFileSync } from 'node:fs';

/**
 * Where the admin API's tokens come from. A token given on the command line shows in the
 * process list (ps, /proc/<pid>/cmdline), so each can also come from a file
 * (--admin-token-file, SLUICE_ADMIN_TOKEN_FILE: a mounted secret) or the environment
 * (SLUICE_ADMIN_TOKEN). Startup refuses what cannot work: two sources for one token, an
 * empty or unreadable file, and the same string for both tokens (the read token would
 * then shadow the admin one and every write would be refused with 403).
 */

/** A token configuration that cannot work: startup stops with this one-line message (the CLI exits 2). */
export class TokenConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenConfigError';
  }
}

export interface TokenSources {
  adminToken?: string;
  adminTokenFile?: string;
  readToken?: string;
  readTokenFile?: string;
}

/** The two tokens, read from their files where given; throws TokenConfigError. */
export function resolveTokens(src: TokenSources): { adminToken?: string; readToken?: string } {
  const adminToken = one('admin', src.adminToken, src.adminTokenFile);
  const readToken = one('read', src.readToken, src.readTokenFile);
  if (adminToken !== undefined && adminToken === readToken) {
    throw new TokenConfigError('the admin token and the read token are the same string; give the read-only token a different value');
  }
  return { adminToken, readToken };
}

function one(role: 'admin' | 'read', value: string | undefined, file: string | undefined): string | undefined {
  if (value !== undefined && value !== '' && file !== undefined) throw new TokenConfigError(`give the ${role} token either directly (--${role}-token) or in a file (--${role}-token-file), not both`);
  if (file === undefined) return value === '' ? undefined : value;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TokenConfigError(`cannot read the ${role} token file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const token = text.replace(/\r?\n$/, '');
  if (token.trim() === '') throw new TokenConfigError(`the ${role} token file ${file} is empty`);
  if (/\s/.test(token)) throw new TokenConfigError(`the ${role} token in ${file} contains whitespace; a bearer token is one word`);
  return token;
}
