import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sampleTreeRss, type TreePeak } from './proc.js';

/**
 * Run one command under GNU time: wall time (measured here), user + system CPU time of the whole process
 * tree (the kernel's rusage of waited-for children, as reported by `time`), and peak RSS (`%M`: the largest
 * single process of that tree). Each command gets its own process group so that an interrupted bench can
 * stop it and everything it started.
 */

export interface Sample {
  wallS: number;
  userS: number;
  sysS: number;
  /** user + sys */
  cpuS: number;
  /** peak resident set of the largest process in the tree, MiB */
  rssMiB: number;
  /** largest Σ RSS of the whole process tree (sampled from /proc; only when asked for), MiB */
  treeRssMiB?: number;
}

export interface Measured {
  sample: Sample;
  /** the sampled tree at its peak (with sampleTree) */
  tree?: TreePeak;
  code: number;
  stdout: string;
  stderr: string;
}

export const TIME_BIN = '/usr/bin/time';
const TIME_FORMAT = 'bench-time %e %U %S %M';
const OUTPUT_LIMIT = 4 << 20;

/** The last `bench-time` line of GNU time's output file (a failed command adds a status line before it). */
export function parseTimeOutput(text: string): Sample {
  const line = text
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('bench-time '));
  const nums = line?.split(' ').slice(1).map(Number);
  if (!nums || nums.length !== 4 || nums.some((n) => !Number.isFinite(n))) {
    throw new Error(`cannot read GNU time output: ${JSON.stringify(text.slice(-200))}`);
  }
  const [wallS = 0, userS = 0, sysS = 0, rssKiB = 0] = nums;
  return { wallS, userS, sysS, cpuS: round2(userS + sysS), rssMiB: round2(rssKiB / 1024) };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

const running = new Set<ChildProcess>();

/** Stop every measured command still running (SIGTERM to its process group). */
export function stopAll(): void {
  for (const child of running) {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
}

function keep(buf: string, more: Buffer): string {
  const s = buf + more.toString('utf8');
  return s.length > OUTPUT_LIMIT ? s.slice(-OUTPUT_LIMIT) : s;
}

export interface MeasureOptions {
  /** a directory for time's output file */
  scratch: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** also sample Σ RSS of the command's process tree (and of these other trees, e.g. a daemon it talks to) */
  sampleTree?: { extraRoots?: readonly number[] };
}

/** Run argv under GNU time. Never throws on a non-zero exit. */
export async function measure(argv: readonly string[], opts: MeasureOptions): Promise<Measured> {
  const timeFile = join(opts.scratch, `time-${process.pid}-${Date.now()}.txt`);
  const child = spawn(TIME_BIN, ['-f', TIME_FORMAT, '-o', timeFile, ...argv], {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout = keep(stdout, d)));
  child.stderr?.on('data', (d: Buffer) => (stderr = keep(stderr, d)));
  const start = performance.now();
  const sampler =
    opts.sampleTree && child.pid !== undefined
      ? sampleTreeRss(() => [child.pid as number, ...(opts.sampleTree?.extraRoots ?? [])])
      : undefined;
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
  }).finally(() => running.delete(child));
  const wallS = round2((performance.now() - start) / 1000);
  const tree = await sampler?.stop();
  const text = await readFile(timeFile, 'utf8').catch(() => '');
  await rm(timeFile, { force: true });
  if (text === '')
    throw new Error(`${argv[0] ?? ''} did not run under ${TIME_BIN} (exit ${code}): ${stderr.slice(-500)}`);
  // the wall time measured here has more digits than time's %e
  const sample = { ...parseTimeOutput(text), wallS, ...(tree ? { treeRssMiB: tree.rssMiB } : {}) };
  return { sample, ...(tree ? { tree } : {}), code, stdout, stderr };
}

/** The tail of a command's output for an error message. */
export function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
