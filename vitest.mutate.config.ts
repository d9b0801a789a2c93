import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Stryker stops a mutant's run at the first failing test, so the fast, exact tests go first and
 * the oracles' seconds-long random runs last: most mutants then die before the oracles start.
 */
class ExactTestsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => (f.moduleId.includes('/test/mutants/') ? 0 : f.moduleId.includes('/test/oracles/') ? 2 : 1);
    return [...files].sort((a, b) => rank(a) - rank(b));
  }
}

/**
 * The suites `npm run mutate` (Stryker) runs against each mutant: pure, in-process tests of the
 * decision core only. Nothing here starts Redis, a child process or a socket, so a mutant's run
 * is a few hundred milliseconds and Stryker's per-test coverage picks only the tests that reach it.
 */
export default defineConfig({
  test: {
    include: [
      'test/algorithms/**/*.test.ts',
      'test/oracles/**/*.test.ts',
      'test/engine/**/*.test.ts',
      'test/policy/**/*.test.ts',
      // The seed pages' scenarios drive the whole engine on an injected clock, in process.
      'test/examples/**/*.test.ts',
      'test/mutants/**/*.test.ts',
      'test/hostile/client-ip.test.ts',
    ],
    // These start redis-server (or need one); the mutate run must not.
    exclude: ['test/engine/open-store.test.ts', 'test/engine/refused-cache.test.ts', 'test/engine/carry-over-overrides.test.ts'],
    // The oracles' SQLite cases open a database file per run: seconds per mutant, for a store
    // outside the mutated scope (the memory-store cases of the same oracles stay).
    testNamePattern: /^(?!.*on SQLite)/,
    // Generous: the oracles run thousands of cases, and the machine is shared.
    testTimeout: 180_000,
    sequence: { sequencer: ExactTestsFirst },
  },
});
