import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { MemoryStore } from '../../src/stores/memory.js';
import { SqliteStore } from '../../src/stores/sqlite.js';
import { openStore } from '../../src/stores/open.js';
import { storeContract } from './contract.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-sqlite-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

storeContract('memory', async () => new MemoryStore());
storeContract('sqlite', async () => new SqliteStore(join(dir, `contract-${n++}`, 'sluice.db')));
storeContract('sqlite via openStore', async () => openStore(`sqlite:${join(dir, `open-${n++}.db`)}`));
