// Mutation testing of the decision core: `npm run mutate` (not part of `npm test`).
// Incremental: results are kept in reports/stryker-incremental.json (gitignored) and reused for
// mutants whose code and covering tests did not change. `npm run mutate -- --mutate 'src/engine/**'`
// narrows a run to one folder; `--force` re-runs everything.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts' },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  mutate: [
    'src/algorithms/**/*.ts',
    'src/stores/transaction.ts',
    'src/engine/**/*.ts',
    'src/policy/**/*.ts',
    'src/http/subject*.ts',
    'src/http/client-ip.ts',
  ],
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  // The machine has 2 cores shared with others: one or two test runners, run under nice.
  concurrency: 2,
  timeoutMS: 5_000,
  // event-recorder writes each mutant's result as it is tested (reports/mutation/events/*-onMutantTested.json):
  // a run stopped before its end (a deadline, a shared machine too slow) still says what survived.
  reporters: ['clear-text', 'progress', 'html', 'json', 'event-recorder'],
  eventReporter: { baseDir: 'reports/mutation/events' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  // Not copied into the sandbox: build output, reports, other runs' sandboxes.
  ignorePatterns: ['dist', 'reports', 'coverage', 'test-output', 'test-results', '.stryker-tmp*', '.bench'],
  cleanTempDir: 'always',
};
