import { describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import type { JobResult } from '../bulk/summary.js';
import { exitCodeFor } from './exit.js';
import { failIfAny, parseJobs } from './bulk.js';

const r = (status: JobResult['status'], retryable?: boolean): JobResult => ({
  id: Math.random().toString(16).slice(2),
  name: 'n',
  status,
  source: 's',
  patchedTag: 't',
  details: '',
  ...(retryable === undefined ? {} : { retryable }),
});

function exitOf(results: JobResult[], ignoreErrors = false): number {
  try {
    failIfAny(results, ignoreErrors);
    return 0;
  } catch (e) {
    return exitCodeFor(e);
  }
}

describe('bulk exit codes', () => {
  it.each([
    ['all patched or skipped', [r('Patched'), r('Skipped')], false, 0],
    ['a failure a retry will not fix', [r('Patched'), r('Failed')], false, 1],
    ['an Error row (could not start)', [r('Error')], false, 1],
    ['every failure retryable: 75, retry me', [r('Failed', true), r('Error', true), r('Patched')], false, 75],
    ['one retryable, one not: 1', [r('Failed', true), r('Failed')], false, 1],
    ['--ignore-errors', [r('Failed'), r('Error')], true, 0],
  ])('%s', (_what, results, ignore, code) => {
    expect(exitOf(results, ignore)).toBe(code);
  });
});

describe('--jobs', () => {
  it.each(['0', '-1', '1.5', 'x', '257', ''])('rejects %j as a usage error', (v) => {
    expect(() => parseJobs(v)).toThrow(CopaError);
    try {
      parseJobs(v);
    } catch (e) {
      expect(exitCodeFor(e)).toBe(2);
    }
  });
  it('accepts whole numbers', () => {
    expect(parseJobs('4')).toBe(4);
    expect(parseJobs(undefined)).toBeGreaterThanOrEqual(1);
  });
});
