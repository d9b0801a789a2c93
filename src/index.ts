export { Sluice, type SluiceOptions, type CheckOptions, type Clock } from './engine/sluice.js';
export { Decision, type Action, type RuleResult } from './engine/decision.js';
export { stateKey, stateKeyFor } from './engine/keys.js';
export * from './policy/index.js';
export { algorithms, ALGORITHM_NAMES, type Algorithm, type AlgorithmName, type Params, type StepMode, type StepResult } from './algorithms/index.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory.js';
export { runTransaction, effectiveParams, type StateAccess } from './stores/transaction.js';
export { type Store, type TxOp, type OpResult, type StoredOverride } from './stores/store.js';
export { rateLimitHeaders } from './http/headers.js';
