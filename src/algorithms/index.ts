import { block } from './block.js';
import { concurrency } from './concurrency.js';
import { fixedWindow } from './fixed-window.js';
import { gcra } from './gcra.js';
import { rollingQuota } from './rolling-quota.js';
import { slidingLog } from './sliding-log.js';
import { slidingWindow } from './sliding-window.js';
import type { Algorithm, AlgorithmName } from './types.js';

export const algorithms: Readonly<Record<AlgorithmName, Algorithm>> = {
  'sliding-log': slidingLog,
  'sliding-window': slidingWindow,
  'fixed-window': fixedWindow,
  gcra,
  'rolling-quota': rollingQuota,
  concurrency,
  block,
};

export const ALGORITHM_NAMES = Object.keys(algorithms) as AlgorithmName[];

export type { Algorithm, AlgorithmName, Params, StepMode, StepResult } from './types.js';
