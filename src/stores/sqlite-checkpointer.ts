import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints off the event loop. With SQLite's auto-checkpoint, the commit that fills
 * the WAL past 1,000 pages copies it into the database file and syncs it, on the thread
 * that commits: measured under 50 connections on /v1/check, 21 group commits in 8 s took
 * over 2 ms (the longest 38 ms) and every connection waited; with the checkpoints moved
 * out, 3 did (the longest 9.5 ms) and total commit time fell by a third. So the store turns
 * auto-checkpoint off and this worker thread, on its own connection, runs a PASSIVE
 * checkpoint every `everyMs` (it never waits for the writer, which keeps appending to the
 * WAL meanwhile; SQLite restarts the WAL from the top once a checkpoint caught up).
 *
 * Under sustained load a passive checkpoint never catches up: the writer commits while it
 * syncs the database file, so the WAL was never restarted and grew by every commit (39 MB
 * in 8 s of /v1/check at 50 connections, without bound). Once the WAL holds more than
 * `restartFrames` frames, the worker also runs a RESTART checkpoint: it waits (in its own
 * thread) for the open group to commit, holds off the next one while it copies what little
 * the passive one left and syncs, and the next commit writes the WAL from its start again.
 * The event loop waits for that one checkpoint, its sync included (a few ms on a quiet
 * machine, up to 65 ms measured on a loaded one), once per restartFrames pages of WAL: with
 * the default 16,384 (64 MB), every 15 s or so at full load.
 */
export class SqliteCheckpointer {
  private readonly worker: Worker;

  constructor(path: string, everyMs = 500, restartFrames = 16_384) {
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER, { eval: true, workerData: { module, path, everyMs, restartFrames } });
    this.worker.on('error', () => undefined); // a failed checkpoint is retried at the next tick; a dead worker only means larger WALs
    this.worker.unref();
  }

  /** Stops the worker after its current checkpoint, and waits for it (at most a second). */
  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage('stop');
    const timer = setTimeout(() => void this.worker.terminate(), 1000);
    await exited;
    clearTimeout(timer);
  }
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { fileMustExist: true });
// A passive checkpoint never waits; a RESTART waits this long for the group commit in progress.
db.pragma('busy_timeout = 200');
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const restart = db.prepare('PRAGMA wal_checkpoint(RESTART)');
const timer = setInterval(() => {
  try {
    const { log } = passive.get();
    if (log > workerData.restartFrames) restart.get();
  } catch {}
}, workerData.everyMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  try { db.close(); } catch {}
  parentPort.close();
});
`;
