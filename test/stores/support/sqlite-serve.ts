/**
 * Child process for the kill -9 under load test: the Sluice service on a SQLite file
 * (the group-committing default), with a fixed clock so every charge stays in one window,
 * or (mode "library") 64 concurrent callers of check() that count each answer in a file
 * (a synchronous write, so every count written was an answer before the kill). Either way
 * the parent kills it with SIGKILL at a random moment.
 */
import { openSync, writeSync } from 'node:fs';
import { pino } from 'pino';
import { Sluice } from '../../../src/engine/sluice.js';
import { serve } from '../../../src/server/serve.js';
import { SqliteStore } from '../../../src/stores/sqlite.js';

const [mode, dbPath, policy, clockAt, counterFile] = process.argv.slice(2);
const clock = () => Number(clockAt);

if (mode === 'service') {
  const h = await serve({ policy, store: `sqlite:${dbPath}`, port: 0, host: '127.0.0.1', clock, logger: pino({ level: 'silent' }), handleSignals: false, watch: false, processMetrics: false });
  process.send!({ type: 'ready', port: h.port });
} else {
  const sluice = await Sluice.open({ policy, store: new SqliteStore(dbPath), clock });
  process.send!({ type: 'ready' });
  const subject = { account: 'acme' };
  const fd = openSync(counterFile, 'w');
  const count = Buffer.alloc(4);
  let answered = 0;
  // 64 callers, each with one check in flight; an answer is counted once check() resolved.
  for (let c = 0; c < 64; c++) {
    void (async () => {
      for (;;) {
        const d = await sluice.check(subject);
        if (!d.allowed) continue;
        count.writeUInt32LE(++answered);
        writeSync(fd, count, 0, 4, 0);
      }
    })();
  }
}
