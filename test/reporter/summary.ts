import { writeSync } from 'node:fs';
import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';
import { recordResults, type TestOutcome } from './results.js';

/**
 * Prints one final line `N passed, N failed, N skipped` that CI can read, and records every test's outcome
 * in the results file (see results.ts) that `npm run reliability` turns into the README's table.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const outcomes: TestOutcome[] = [];
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
        outcomes.push({ file: relative(process.cwd(), mod.moduleId), name: test.fullName, state });
      }
      // a file that failed to load (syntax error, failing hook) counts as a failure
      if (
        mod.state() === 'failed' &&
        [...mod.children.allTests()].every((t) => t.result().state !== 'failed')
      )
        failed++;
    }
    recordResults(outcomes);
    // printed at process exit so that it is the very last line, after vitest's own summary
    const line = `\n${passed} passed, ${failed} failed, ${skipped} skipped\n`;
    process.once('exit', () => writeSync(1, line));
  }
}
