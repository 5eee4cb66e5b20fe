import { CopaError } from '../errors.js';

/**
 * Splitting the jobs of one bulk run across several machines (`--shard I/N`, or `--shards N` inside a
 * Kubernetes Indexed Job). Every shard computes the same assignment from the same config.
 */

export interface ShardJob {
  id: string;
  /** jobs of one group always land on the same shard (e.g. the tags of one target repository) */
  group: string;
  /** relative cost, default 1 */
  weight?: number;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A 0-based shard for every job id. Groups are placed whole (a group of more than ⌈jobs/shards⌉ jobs in
 * pieces of that size), heaviest first (ties: group key), each onto the least-loaded shard (ties: lowest
 * index), so the result does not depend on the order of `jobs`.
 */
export function assignShards(jobs: ShardJob[], shards: number): Map<string, number> {
  if (!Number.isSafeInteger(shards) || shards < 1) {
    throw new CopaError('USAGE', `shard count must be a positive integer, got ${shards}`);
  }
  const members = new Map<string, Array<{ id: string; weight: number }>>();
  const seen = new Set<string>();
  for (const job of jobs) {
    if (seen.has(job.id))
      throw new CopaError('USAGE', `two bulk jobs have the same id ${JSON.stringify(job.id)}`);
    seen.add(job.id);
    const weight = job.weight ?? 1;
    if (!Number.isFinite(weight) || weight < 0) {
      throw new CopaError(
        'USAGE',
        `job ${JSON.stringify(job.id)} has weight ${weight}, expected a number >= 0`,
      );
    }
    const list = members.get(job.group) ?? [];
    list.push({ id: job.id, weight });
    members.set(job.group, list);
  }
  // a group larger than a fair share is cut into fair-share pieces (consecutive in id order), so one
  // base image shared by every job still spreads over the shards, each piece reusing its caches
  const fair = Math.max(1, Math.ceil(jobs.length / shards));
  const groups = [...members.entries()].flatMap(([key, list]) => {
    list.sort((a, b) => compareStrings(a.id, b.id));
    const pieces = [];
    for (let i = 0; i < list.length; i += fair) {
      const part = list.slice(i, i + fair);
      // sum in id order: floating-point sums must not depend on the input order either
      pieces.push({
        key: `${key}#${i / fair}`,
        ids: part.map((j) => j.id),
        weight: part.reduce((sum, j) => sum + j.weight, 0),
      });
    }
    return pieces;
  });
  const ordered = groups.sort((a, b) => b.weight - a.weight || compareStrings(a.key, b.key));
  const load = new Array<number>(shards).fill(0);
  const result = new Map<string, number>();
  for (const group of ordered) {
    let best = 0;
    for (let i = 1; i < shards; i++) if ((load[i] ?? 0) < (load[best] ?? 0)) best = i;
    load[best] = (load[best] ?? 0) + group.weight;
    for (const id of group.ids) result.set(id, best);
  }
  return result;
}

const SHARD_HINT = '--shard I/N runs the I-th of N shards (1 <= I <= N), e.g. --shard 2/4';
const SHARDS_HINT =
  '--shards N takes the 0-based shard index from JOB_COMPLETION_INDEX, which Kubernetes sets in Indexed Jobs; elsewhere use --shard I/N';
const INTEGER_RE = /^(0|[1-9][0-9]*)$/;

function toInteger(text: string): number | undefined {
  if (!INTEGER_RE.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * The shard this process runs: `--shard I/N` (1-based I) or `--shards N` with the 0-based index from
 * JOB_COMPLETION_INDEX; undefined when neither flag is given. The returned index is 0-based.
 */
export function parseShard(
  value: string | undefined,
  shardsFlag: string | undefined,
  env: NodeJS.ProcessEnv,
): { index: number; count: number } | undefined {
  if (value !== undefined && shardsFlag !== undefined) {
    throw new CopaError('USAGE', '--shard and --shards cannot be used together', {
      hint: 'use --shard I/N, or --shards N in a Kubernetes Indexed Job',
    });
  }
  if (value !== undefined) {
    const m = /^([0-9]+)\/([0-9]+)$/.exec(value);
    const index = m ? toInteger(m[1] ?? '') : undefined;
    const count = m ? toInteger(m[2] ?? '') : undefined;
    if (index === undefined || count === undefined || count < 1 || index < 1 || index > count) {
      throw new CopaError('USAGE', `--shard: expected I/N with 1 <= I <= N, got ${JSON.stringify(value)}`, {
        hint: SHARD_HINT,
      });
    }
    return { index: index - 1, count };
  }
  if (shardsFlag !== undefined) {
    const count = toInteger(shardsFlag);
    if (count === undefined || count < 1) {
      throw new CopaError(
        'USAGE',
        `--shards: expected a positive integer, got ${JSON.stringify(shardsFlag)}`,
        {
          hint: SHARDS_HINT,
        },
      );
    }
    const raw = env.JOB_COMPLETION_INDEX;
    if (raw === undefined || raw === '') {
      throw new CopaError('USAGE', '--shards: JOB_COMPLETION_INDEX is not set', { hint: SHARDS_HINT });
    }
    const index = toInteger(raw);
    if (index === undefined || index >= count) {
      throw new CopaError(
        'USAGE',
        `--shards ${count}: expected JOB_COMPLETION_INDEX between 0 and ${count - 1}, got ${JSON.stringify(raw)}`,
        { hint: SHARDS_HINT },
      );
    }
    return { index, count };
  }
  return undefined;
}
