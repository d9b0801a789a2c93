import type { Logger } from 'pino';
import type { Sluice } from '../engine/sluice.js';
import type { DashboardRecorder } from '../dashboard/recorder.js';
import type { ServerMetrics } from './metrics.js';
import type { WriteBatch } from './write-batch.js';

/** What every route of one service instance shares. */
export interface ServerContext {
  readonly sluice: Sluice;
  /** The store answers synchronously (memory): checks skip the promise machinery. */
  readonly sync: boolean;
  readonly log: Logger;
  readonly metrics: ServerMetrics;
  /** Decision answers wait here for the end of the loop turn's I/O, to go out together. */
  readonly writes: WriteBatch;
  /** Largest request body accepted, in bytes. */
  readonly bodyLimit: number;
  /** Set once shutdown begins: responses ask clients to close their connections. */
  closing: boolean;
  /** Where the policy came from (a file path, or a description of an inline policy). */
  readonly policySource: string;
  /** The dashboard's bookkeeping (src/dashboard), unless it was turned off. */
  readonly dashboard?: DashboardRecorder;
}
