/**
 * sluice/pacer: queues work per key (channel, webhook endpoint, customer) and releases
 * it at the key's sending speed, shared across processes through a Sluice store.
 */
export { createPacer, Pacer } from './pacer.js';
export type { Job, JobContext, OverflowPolicy, PacerEvents, PacerOptions, PacerStats, RetryOptions, ScheduleOptions, StoppedJob } from './types.js';
export { JobDroppedError, JobTimeoutError, PacerError, PacerStoppedError, QueueFullError } from './errors.js';
export { Aimd } from './adaptive.js';
export type { AdaptiveOptions, AimdChange } from './adaptive.js';
export type { Outcome } from './outcome.js';
export { formatRate, parseRate, perSecond } from './rate.js';
export type { Rate, RateSpec } from './rate.js';
export { systemClock } from '../client/clock.js';
export type { Clock } from '../client/clock.js';
