import { block } from './block.js';
import { concurrency } from './concurrency.js';
import { fixedWindow } from './fixed-window.js';
import { gcra } from './gcra.js';
import { rollingQuota } from './rolling-quota.js';
import { slidingLog } from './sliding-log.js';
import { slidingWindow } from './sliding-window.js';
import type { Algorithm, AlgorithmName } from './types.js';

export { ALGORITHM_NAMES } from './types.js';
export { fastestAdmissions } from './fastest-admissions.js';

/** Every algorithm by name: the one registry the policy, the stores and the Lua scripts derive from. */
export const algorithms: Readonly<Record<AlgorithmName, Algorithm>> = {
  'sliding-log': slidingLog,
  'sliding-window': slidingWindow,
  'fixed-window': fixedWindow,
  gcra,
  'rolling-quota': rollingQuota,
  concurrency,
  block,
};

export type { Algorithm, AlgorithmName, Params, StepMode, StepResult } from './types.js';
