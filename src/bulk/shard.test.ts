import { describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import { assignShards, parseShard, type ShardJob } from './shard.js';

function loads(assignment: Map<string, number>, jobs: ShardJob[], shards: number): number[] {
  const load = new Array<number>(shards).fill(0);
  for (const job of jobs) {
    const shard = assignment.get(job.id) ?? -1;
    load[shard] = (load[shard] ?? 0) + (job.weight ?? 1);
  }
  return load;
}

const JOBS: ShardJob[] = [
  { id: 'nginx:1.25.3', group: 'nginx' },
  { id: 'nginx:1.24.0', group: 'nginx' },
  { id: 'nginx:1.21.6', group: 'nginx' },
  { id: 'python:3.9', group: 'python' },
  { id: 'python:3.10', group: 'python' },
  { id: 'alpine:3.19', group: 'alpine' },
  { id: 'redis:7', group: 'redis' },
  { id: 'redis:6', group: 'redis' },
];

describe('assignShards', () => {
  it('places whole groups, heaviest first, on the least-loaded shard', () => {
    const a = assignShards(JOBS, 2);
    // nginx(3) -> 0; python(2) and redis(2): python first by key -> 1; redis -> 1 (load 2 < 3); alpine -> 0
    expect(Object.fromEntries(a)).toStrictEqual({
      'nginx:1.25.3': 0,
      'nginx:1.24.0': 0,
      'nginx:1.21.6': 0,
      'python:3.9': 1,
      'python:3.10': 1,
      'redis:7': 1,
      'redis:6': 1,
      'alpine:3.19': 0,
    });
    expect(loads(a, JOBS, 2)).toStrictEqual([4, 4]);
  });

  it('keeps every group on one shard', () => {
    const a = assignShards(JOBS, 3);
    for (const group of new Set(JOBS.map((j) => j.group))) {
      const shards = new Set(JOBS.filter((j) => j.group === group).map((j) => a.get(j.id)));
      expect(shards.size).toBe(1);
    }
  });

  it('does not depend on the input order', () => {
    const expected = Object.fromEntries(assignShards(JOBS, 3));
    const permutations = [[...JOBS].reverse(), [...JOBS].sort((x, y) => (x.id < y.id ? 1 : -1))];
    for (const jobs of permutations)
      expect(Object.fromEntries(assignShards(jobs, 3))).toStrictEqual(expected);
  });

  it('uses weights', () => {
    const jobs: ShardJob[] = [
      { id: 'a', group: 'a', weight: 10 },
      { id: 'b', group: 'b', weight: 1 },
      { id: 'c', group: 'c', weight: 1 },
      { id: 'd', group: 'd', weight: 0.5 },
    ];
    expect(Object.fromEntries(assignShards(jobs, 2))).toStrictEqual({ a: 0, b: 1, c: 1, d: 1 });
  });

  it('puts everything on shard 0 with one shard, and leaves shards empty when there are fewer jobs', () => {
    expect(new Set(assignShards(JOBS, 1).values())).toStrictEqual(new Set([0]));
    // 8 jobs over 10 shards: a fair share is one job, so every job gets a shard of its own
    expect(new Set(assignShards(JOBS, 10).values())).toStrictEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7]));
    expect(assignShards([], 3).size).toBe(0);
  });

  it('cuts a group larger than a fair share into consecutive pieces (one base image shared by all jobs)', () => {
    const jobs: ShardJob[] = Array.from({ length: 10 }, (_, i) => ({ id: `t${i}`, group: 'debian' }));
    const a = assignShards(jobs, 3);
    expect(loads(a, jobs, 3)).toStrictEqual([4, 4, 2]);
    // pieces are runs of ids in sorted order: t0..t3, t4..t7, t8..t9
    expect(['t0', 't1', 't2', 't3'].map((id) => a.get(id))).toStrictEqual([0, 0, 0, 0]);
    expect(['t8', 't9'].map((id) => a.get(id))).toStrictEqual([2, 2]);
  });

  it.each([0, -1, 1.5, NaN])('rejects %d shards', (n) => {
    expect(() => assignShards(JOBS, n)).toThrow(CopaError);
  });

  it('rejects duplicate ids and bad weights', () => {
    expect(() => assignShards([JOBS[0] as ShardJob, JOBS[0] as ShardJob], 2)).toThrow(/same id/);
    expect(() => assignShards([{ id: 'a', group: 'a', weight: -1 }], 2)).toThrow(/weight/);
    expect(() => assignShards([{ id: 'a', group: 'a', weight: Infinity }], 2)).toThrow(/weight/);
  });
});

describe('parseShard', () => {
  it.each([
    ['1/1', undefined, {}, { index: 0, count: 1 }],
    ['1/4', undefined, {}, { index: 0, count: 4 }],
    ['4/4', undefined, {}, { index: 3, count: 4 }],
    [undefined, '4', { JOB_COMPLETION_INDEX: '0' }, { index: 0, count: 4 }],
    [undefined, '4', { JOB_COMPLETION_INDEX: '3' }, { index: 3, count: 4 }],
    ['2/3', undefined, { JOB_COMPLETION_INDEX: '0' }, { index: 1, count: 3 }],
    [undefined, undefined, { JOB_COMPLETION_INDEX: '2' }, undefined],
  ])('--shard %j --shards %j env %j -> %j', (shard, shards, env, expected) => {
    expect(parseShard(shard, shards, env)).toStrictEqual(expected);
  });

  it.each([
    ['0/4', undefined, {}, '--shard'],
    ['5/4', undefined, {}, '--shard'],
    ['1/0', undefined, {}, '--shard'],
    ['2', undefined, {}, '--shard'],
    ['', undefined, {}, '--shard'],
    ['a/b', undefined, {}, '--shard'],
    [' 1/2', undefined, {}, '--shard'],
    ['1/2/3', undefined, {}, '--shard'],
    ['-1/2', undefined, {}, '--shard'],
    ['1.0/2', undefined, {}, '--shard'],
    ['01/2', undefined, {}, '--shard'],
    ['1/99999999999999999999', undefined, {}, '--shard'],
    [undefined, '0', { JOB_COMPLETION_INDEX: '0' }, '--shards'],
    [undefined, 'x', { JOB_COMPLETION_INDEX: '0' }, '--shards'],
    [undefined, '', { JOB_COMPLETION_INDEX: '0' }, '--shards'],
    [undefined, '4', {}, 'JOB_COMPLETION_INDEX is not set'],
    [undefined, '4', { JOB_COMPLETION_INDEX: '' }, 'JOB_COMPLETION_INDEX is not set'],
    [undefined, '4', { JOB_COMPLETION_INDEX: '4' }, 'between 0 and 3'],
    [undefined, '4', { JOB_COMPLETION_INDEX: '-1' }, 'between 0 and 3'],
    [undefined, '4', { JOB_COMPLETION_INDEX: 'one' }, 'between 0 and 3'],
    ['1/2', '2', { JOB_COMPLETION_INDEX: '0' }, 'cannot be used together'],
  ])('--shard %j --shards %j env %j: usage error mentioning %s', (shard, shards, env, fragment) => {
    try {
      parseShard(shard, shards, env);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(CopaError);
      const e = err as CopaError;
      expect(e.code).toBe('USAGE');
      expect(e.message).toContain(fragment);
      expect(e.message).not.toContain('\n');
      expect(e.hint).toBeTruthy();
    }
  });
});
