import { describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import {
  formatSummary,
  mergeResults,
  parseResultLines,
  sortResults,
  summaryJson,
  type JobResult,
} from './summary.js';

function job(over: Partial<JobResult>): JobResult {
  return {
    id: 'id',
    name: 'n',
    status: 'Patched',
    source: 's',
    patchedTag: 't',
    details: 'OK',
    ...over,
  };
}

const RESULTS: JobResult[] = [
  job({ id: '3', name: 'ubuntu-test', source: 'registry/ubuntu:22.04', patchedTag: '22.04-patched-3' }),
  job({
    id: '2',
    name: 'alpine-test',
    status: 'Skipped',
    source: 'registry/alpine:3.19',
    patchedTag: '3.19-patched-2',
    details: 'no fixable vulnerabilities',
  }),
  job({ id: '1', name: 'nginx-test', source: 'registry/nginx:1.25.3', patchedTag: '1.25.3-patched' }),
];

describe('sortResults', () => {
  it('sorts by name, then source, then patched tag, without touching the input', () => {
    const input = [
      job({ id: 'a', name: 'b', source: 'x', patchedTag: '2' }),
      job({ id: 'b', name: 'a', source: 'y', patchedTag: '1' }),
      job({ id: 'c', name: 'b', source: 'x', patchedTag: '1' }),
      job({ id: 'd', name: 'a', source: 'x', patchedTag: '9' }),
      job({ id: 'e', name: 'B', source: 'x', patchedTag: '9' }),
    ];
    expect(sortResults(input).map((r) => r.id)).toStrictEqual(['e', 'd', 'b', 'c', 'a']);
    expect(input.map((r) => r.id)).toStrictEqual(['a', 'b', 'c', 'd', 'e']);
  });
});

describe('formatSummary', () => {
  it('lays the table out like Go’s tabwriter with padding 2', () => {
    expect(formatSummary(RESULTS)).toBe(
      [
        'NAME         STATUS   SOURCE IMAGE           PATCHED TAG      DETAILS',
        'alpine-test  Skipped  registry/alpine:3.19   3.19-patched-2   no fixable vulnerabilities',
        'nginx-test   Patched  registry/nginx:1.25.3  1.25.3-patched   OK',
        'ubuntu-test  Patched  registry/ubuntu:22.04  22.04-patched-3  OK',
        '',
      ].join('\n'),
    );
  });

  it('prints only the header for no jobs', () => {
    expect(formatSummary([])).toBe('NAME  STATUS  SOURCE IMAGE  PATCHED TAG  DETAILS\n');
  });

  it('keeps every row on one line', () => {
    const out = formatSummary([
      job({ status: 'Failed', details: 'apt failed:\n  E: Unable to locate package\r\nexit 100\tx' }),
    ]);
    expect(out.split('\n')).toHaveLength(3);
    expect(out).toContain('apt failed: E: Unable to locate package exit 100 x\n');
  });

  it('counts characters, not UTF-16 units or bytes, for the width', () => {
    const out = formatSummary([job({ name: 'ñ🙂', details: 'd' })]);
    expect(out.split('\n')[1]).toBe('ñ🙂    Patched  s             t            d');
  });

  it('ends with spaces when the last column is empty, as tabwriter does', () => {
    expect(formatSummary([job({ details: '' })]).split('\n')[1]).toBe(
      'n     Patched  s             t            ',
    );
  });
});

describe('summaryJson', () => {
  it('counts every status and sorts the jobs', () => {
    const failed = job({ id: '4', name: 'z', status: 'Failed', details: 'boom' });
    expect(summaryJson([...RESULTS, failed])).toStrictEqual({
      jobs: sortResults([...RESULTS, failed]),
      counts: { Patched: 2, Skipped: 1, Failed: 1, Error: 0 },
      total: 4,
    });
    expect(summaryJson([])).toStrictEqual({
      jobs: [],
      counts: { Patched: 0, Skipped: 0, Failed: 0, Error: 0 },
      total: 0,
    });
  });
});

describe('parseResultLines', () => {
  const line = (r: JobResult): string => JSON.stringify(r);

  it('reads JSON lines, ignoring blank lines and CRLF', () => {
    const full = job({
      id: 'x',
      digest: 'sha256:' + 'a'.repeat(64),
      retryable: false,
      durationMs: 1234.5,
      shard: 2,
      resumed: true,
    });
    const text = `${line(RESULTS[0] as JobResult)}\r\n\n   \n${line(full)}\n`;
    expect(parseResultLines(text, 'r.jsonl')).toStrictEqual([RESULTS[0], full]);
    expect(parseResultLines('', 'r.jsonl')).toStrictEqual([]);
  });

  it('accepts a complete last line without its newline', () => {
    expect(parseResultLines(line(RESULTS[1] as JobResult), 'r.jsonl')).toStrictEqual([RESULTS[1]]);
  });

  it('ignores a truncated last line (a killed writer)', () => {
    const text = `${line(RESULTS[0] as JobResult)}\n${line(RESULTS[1] as JobResult).slice(0, 30)}`;
    expect(parseResultLines(text, 'r.jsonl')).toStrictEqual([RESULTS[0]]);
  });

  it('drops unknown fields', () => {
    expect(parseResultLines(JSON.stringify({ ...RESULTS[0], extra: 1 }), 'r.jsonl')).toStrictEqual([
      RESULTS[0],
    ]);
  });

  it.each([
    ['a truncated line in the middle', `{"id":\n${JSON.stringify(job({}))}\n`, 'r.jsonl:1: not valid JSON'],
    [
      'a truncated last line with its newline',
      `${JSON.stringify(job({}))}\n{"id":\n`,
      'r.jsonl:2: not valid JSON',
    ],
    [
      'a bad status',
      `\n${JSON.stringify({ ...job({}), status: 'Done' })}\n`,
      'r.jsonl:2: not a job result: status',
    ],
    ['a missing field', JSON.stringify({ id: 'a' }), 'r.jsonl:1: not a job result'],
    ['a non-object', '[1]\n', 'r.jsonl:1: not a job result'],
    ['a negative shard', JSON.stringify({ ...job({}), shard: -1 }), 'r.jsonl:1: not a job result: shard'],
    ['an empty id', JSON.stringify({ ...job({}), id: '' }), 'r.jsonl:1: not a job result: id'],
  ])('rejects %s', (_what, text, fragment) => {
    try {
      parseResultLines(text, 'r.jsonl');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(CopaError);
      expect((err as CopaError).code).toBe('USAGE');
      expect((err as CopaError).message).toContain(fragment);
      expect((err as CopaError).message).not.toContain('\n');
    }
  });
});

describe('mergeResults', () => {
  it('keeps the last result per job id, at the position of its first', () => {
    const a1 = job({ id: 'a', status: 'Failed', details: 'timeout' });
    const b1 = job({ id: 'b', status: 'Patched' });
    const a2 = job({ id: 'a', status: 'Patched', resumed: true });
    const b2 = job({ id: 'b', status: 'Error', details: 'later attempt failed' });
    expect(mergeResults([a1, b1, a2, b2])).toStrictEqual([a2, b2]);
    expect(mergeResults([])).toStrictEqual([]);
  });
});
