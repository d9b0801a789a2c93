/**
 * Errors the pacer settles a job's promise with. Every job that does not run carries
 * itself back to the caller in one of these, so nothing handed to the pacer is lost
 * silently: it either runs, or its promise rejects with the job attached.
 */

/** Base class: catch every pacer-originated failure in one place. */
export class PacerError extends Error {
  readonly key: string;
  constructor(message: string, key: string) {
    super(message);
    this.name = 'PacerError';
    this.key = key;
  }
}

/** The key's queue is at `maxQueue` and the overflow policy is 'reject'. The job was not accepted. */
export class QueueFullError extends PacerError {
  readonly limit: number;
  readonly job: unknown;
  constructor(key: string, limit: number, job: unknown) {
    super(`pacer queue for "${key}" is full (${limit} jobs waiting); retry later or raise maxQueue`, key);
    this.name = 'QueueFullError';
    this.limit = limit;
    this.job = job;
  }
}

/** The job was accepted but later evicted by the overflow policy ('drop-oldest' / 'drop-newest'). */
export class JobDroppedError extends PacerError {
  readonly job: unknown;
  readonly policy: 'drop-oldest' | 'drop-newest';
  readonly limit: number;
  constructor(key: string, limit: number, policy: 'drop-oldest' | 'drop-newest', job: unknown) {
    super(`pacer queue for "${key}" is full (${limit} jobs waiting): job dropped by policy ${policy}`, key);
    this.name = 'JobDroppedError';
    this.job = job;
    this.policy = policy;
    this.limit = limit;
  }
}

/** The pacer was stopped before this job started (or the job was scheduled after stop). */
export class PacerStoppedError extends PacerError {
  readonly job: unknown;
  constructor(key: string, job: unknown) {
    super(`pacer stopped before the job for "${key}" started; the job is attached (error.job) so it can be re-queued`, key);
    this.name = 'PacerStoppedError';
    this.job = job;
  }
}

/** The job ran longer than `timeoutMs`; its signal was aborted with this error. */
export class JobTimeoutError extends PacerError {
  readonly timeoutMs: number;
  constructor(key: string, timeoutMs: number) {
    super(`job for "${key}" timed out after ${timeoutMs} ms`, key);
    this.name = 'JobTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}
