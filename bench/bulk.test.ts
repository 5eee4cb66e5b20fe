import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  bulkConfig,
  bulkProblem,
  bulkTargets,
  BulkSummary,
  repositoryPath,
  W4_TAGS,
  type BulkSpec,
} from './bulk.js';

const spec: BulkSpec = {
  name: 'w4',
  image: '127.0.0.1:4000/bench/w4',
  tags: ['t1', 't2'],
  targetRegistry: '127.0.0.1:4000/bench/copa-w4-bulk-cold-r1',
};

describe('W4 PatchConfig', () => {
  it('is a copa.sh/v1alpha1 PatchConfig with one image, a tag list and a target registry', () => {
    expect(parse(bulkConfig(spec))).toEqual({
      apiVersion: 'copa.sh/v1alpha1',
      kind: 'PatchConfig',
      target: { registry: '127.0.0.1:4000/bench/copa-w4-bulk-cold-r1', tag: '{{ .SourceTag }}-patched' },
      images: [
        { name: 'w4', image: '127.0.0.1:4000/bench/w4', tags: { strategy: 'list', list: ['t1', 't2'] } },
      ],
    });
  });
  it('quotes the template so that YAML does not read {{ … }} as a mapping', () => {
    expect(bulkConfig(spec)).toMatch(/tag: "\{\{ \.SourceTag \}\}-patched"/);
  });
  it('sends each tag to <registry>/<last segment of the image>:<tag>-patched', () => {
    expect(bulkTargets({ ...spec, targetRegistry: `${spec.targetRegistry}/` })).toEqual([
      {
        source: '127.0.0.1:4000/bench/w4:t1',
        repository: '127.0.0.1:4000/bench/copa-w4-bulk-cold-r1/w4',
        tag: 't1-patched',
      },
      {
        source: '127.0.0.1:4000/bench/w4:t2',
        repository: '127.0.0.1:4000/bench/copa-w4-bulk-cold-r1/w4',
        tag: 't2-patched',
      },
    ]);
    expect(repositoryPath('127.0.0.1:4000/bench/x/w4')).toBe('bench/x/w4');
  });
  it('has ten tags t1..t10', () => {
    expect(W4_TAGS).toEqual(['t1', 't2', 't3', 't4', 't5', 't6', 't7', 't8', 't9', 't10']);
  });
});

describe('our bulk --json summary', () => {
  const summary = (patched: number, failed = 0) =>
    BulkSummary.parse({
      jobs: Array.from({ length: patched + failed }, (_, i) => ({
        id: `j${i}`,
        status: i < patched ? 'Patched' : 'Failed',
      })),
      counts: { Patched: patched, Skipped: 0, Failed: failed, Error: 0 },
      total: patched + failed,
    });
  it('is fine when every job patched', () => {
    expect(bulkProblem(summary(10), 10)).toBeUndefined();
  });
  it('says what went wrong otherwise', () => {
    expect(bulkProblem(summary(8, 2), 10)).toBe(
      'expected 10 patched images, got total 10: 8 Patched, 0 Skipped, 2 Failed, 0 Error',
    );
    expect(bulkProblem(summary(9), 10)).toMatch(/got total 9/);
  });
  it('refuses a summary without counts', () => {
    expect(BulkSummary.safeParse({ jobs: [], total: 0 }).success).toBe(false);
  });
});
