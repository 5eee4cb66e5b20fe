/**
 * Bulk mode of `copa patch` (--config, --plan) and the `copa plan` command: the glue between flags, the
 * planner, the worker pool and the summary. Prints; src/bulk does not.
 */
import { readFile } from 'node:fs/promises';
import { CopaError } from '../errors.js';
import type { Logger } from '../log.js';
import { loadPatchConfig } from '../bulk/config.js';
import { planBulk } from '../bulk/planner.js';
import { readPlan, writePlan, type BulkPlan, type PlanJob } from '../bulk/planfile.js';
import { defaultJobs, runJobs } from '../bulk/run.js';
import { assignShards, parseShard } from '../bulk/shard.js';
import {
  formatSummary,
  mergeResults,
  parseResultLines,
  summaryJson,
  type JobResult,
} from '../bulk/summary.js';
import type { JobDefaults } from '../bulk/job.js';
import { engineFor } from '../engine/index.js';
import { resolveLocalStore } from '../oci/load/index.js';
import { newRegistryClient } from '../patch/client.js';

export interface BulkFlags {
  config?: string;
  plan?: string;
  shard?: string;
  shards?: string;
  results?: string;
  jobs?: string;
  report?: string;
  scanner: string;
  ignoreErrors: boolean;
  dryRun: boolean;
  json: boolean;
  insecureRegistry: string[];
}

export function parseJobs(value: string | undefined): number {
  if (value === undefined) return defaultJobs();
  const n = Number(value);
  if (!/^[1-9][0-9]*$/.test(value) || n > 256) {
    throw new CopaError(
      'USAGE',
      `--jobs: expected a whole number from 1 to 256, got ${JSON.stringify(value)}`,
      {
        hint: 'e.g. --jobs 4 (default: one per core, at most one per 2 GiB of memory)',
      },
    );
  }
  return n;
}

/** A bulk run or plan stopped by Ctrl-C / SIGTERM (exit 130 / 143). */
function canceled(hint: string): CopaError {
  return new CopaError('CANCELLED', 'operation canceled', { hint });
}

/** Plan from a PatchConfig (discovery, pinning, target tags, skips). */
export async function planFromConfig(
  file: string,
  flags: Pick<BulkFlags, 'report' | 'scanner' | 'insecureRegistry'>,
  logger: Logger,
  /** Ctrl-C / SIGTERM: registry requests in flight stop with it */
  signal?: AbortSignal,
): Promise<BulkPlan> {
  const config = await loadPatchConfig(file);
  const client = newRegistryClient({ insecureRegistries: flags.insecureRegistry }, logger, signal);
  try {
    return await planBulk(config, {
      client,
      logger,
      scanner: flags.scanner,
      configFile: file,
      ...(flags.report ? { reportDir: flags.report } : {}),
    });
  } finally {
    await client.close();
  }
}

function printPlan(plan: BulkPlan, jobs: PlanJob[], json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify({ ...plan, jobs }, null, 2) + '\n');
    return;
  }
  const rows = [['NAME', 'ACTION', 'SOURCE IMAGE', 'TARGET', 'DETAILS']];
  for (const j of jobs) rows.push([j.name, j.action, j.source, j.target, j.details ?? j.sourceDigest ?? '']);
  const w = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => (r[c] ?? '').length)) + 2);
  for (const r of rows)
    process.stdout.write(r.map((t, c) => (c < 4 ? t.padEnd(w[c] ?? 0) : t)).join('') + '\n');
}

/** Exit status of a set of results: 0, JOBS_RETRYABLE (75) when every failure may pass, else JOBS_FAILED. */
export function failIfAny(results: JobResult[], ignoreErrors: boolean): void {
  const bad = results.filter((r) => r.status === 'Failed' || r.status === 'Error');
  if (bad.length === 0 || ignoreErrors) return;
  const retry = bad.every((r) => r.retryable === true);
  throw new CopaError(
    retry ? 'JOBS_RETRYABLE' : 'JOBS_FAILED',
    `${bad.length} of ${results.length} job(s) failed${retry ? ' for reasons that may pass (registry, network, timeout)' : ''}`,
    {
      hint: retry
        ? 'run the same command again: finished jobs are not redone'
        : 'see DETAILS in the summary; --ignore-errors exits 0 anyway',
    },
  );
}

function report(results: JobResult[], json: boolean): void {
  process.stderr.write(formatSummary(results));
  if (json) process.stdout.write(JSON.stringify(summaryJson(results), null, 2) + '\n');
}

async function previousResults(file: string | undefined): Promise<JobResult[]> {
  if (!file) return [];
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return '';
    throw e;
  });
  return parseResultLines(text, file);
}

/** `copa patch --config FILE` / `copa patch --plan FILE [--shard I/N]`. */
export async function runBulk(
  flags: BulkFlags,
  defaults: JobDefaults,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  const jobsN = parseJobs(flags.jobs);
  const shard = parseShard(flags.shard, flags.shards, process.env);
  if (shard && !flags.plan) {
    throw new CopaError('USAGE', '--shard/--shards need --plan', {
      hint: 'make a plan first: copa plan --config FILE -o plan.json, then copa patch --plan plan.json --shard I/N',
    });
  }
  if (!flags.dryRun) {
    // the engine of every job (native: root; BuildKit: the daemon answers and can do the work), before any work
    const engine = engineFor(defaults);
    engine.check();
    await engine.prepare?.(logger);
    await engine.close?.();
    // neither --push nor --oci-dir: every job loads into docker/podman; find it before any work
    if (!defaults.push && !defaults.ociDir)
      await resolveLocalStore({ loader: defaults.loader ?? '', logger });
  }
  const plan = flags.plan
    ? await readPlan(flags.plan)
    : await planFromConfig(flags.config as string, flags, logger, signal);
  let mine = plan.jobs;
  if (shard) {
    const assigned = assignShards(
      plan.jobs.map((j) => ({ id: j.id, group: j.group })),
      shard.count,
    );
    mine = plan.jobs.filter((j) => assigned.get(j.id) === shard.index);
    logger.info(`Shard ${shard.index + 1}/${shard.count}: ${mine.length} of ${plan.jobs.length} job(s)`);
  }
  if (flags.dryRun) {
    printPlan(plan, mine, flags.json);
    return;
  }
  // a re-run of a shard: jobs that finished before are not redone
  const done = new Map(
    mergeResults(await previousResults(flags.results))
      .filter((r) => r.status === 'Patched' || r.status === 'Skipped')
      .map((r) => [r.id, r]),
  );
  const todo = mine.filter((j) => !done.has(j.id));
  if (done.size > 0)
    logger.info(`${mine.length - todo.length} job(s) finished in an earlier attempt: not redone`);
  logger.info(`Running ${todo.length} job(s), ${Math.min(jobsN, Math.max(todo.length, 1))} at a time`);
  const client = newRegistryClient({ insecureRegistries: flags.insecureRegistry }, logger, signal);
  try {
    const ran = await runJobs(todo, {
      jobs: jobsN,
      defaults,
      client,
      logger,
      resume: flags.plan !== undefined,
      signal,
      ...(flags.results ? { resultsFile: flags.results } : {}),
      ...(shard ? { shard: shard.index } : {}),
      onResult: (r) => logger.info(`${r.status}: ${r.source} -> ${r.patchedTag || '-'} (${r.details})`),
    });
    const results = [...mine.flatMap((j) => done.get(j.id) ?? []), ...ran];
    report(results, flags.json);
    if (signal.aborted) {
      throw canceled('run the same command again (with --results FILE, finished jobs are not redone)');
    }
    failIfAny(results, flags.ignoreErrors);
  } finally {
    await client.close();
  }
}

/** `copa plan --config FILE -o plan.json` */
export async function writeBulkPlan(
  flags: Pick<BulkFlags, 'report' | 'scanner' | 'insecureRegistry'> & {
    config: string;
    output?: string;
  },
  logger: Logger,
  signal?: AbortSignal,
): Promise<void> {
  const hint = 'run the same command again; no plan was written';
  const plan = await planFromConfig(flags.config, flags, logger, signal).catch((e: unknown) => {
    throw signal?.aborted ? canceled(hint) : e;
  });
  if (signal?.aborted) throw canceled(hint);
  if (flags.output) {
    await writePlan(flags.output, plan);
    const count = (a: string): number => plan.jobs.filter((j) => j.action === a).length;
    logger.info(
      `Wrote ${flags.output}: ${plan.jobs.length} job(s) (${count('patch')} to patch, ${count('skip')} skipped, ${count('error')} with errors)`,
    );
  } else printPlan(plan, plan.jobs, true);
}

/** `copa plan merge RESULTS…`: one summary for all shards; the exit code of the whole run. */
export async function mergeBulkResults(
  files: string[],
  flags: { plan?: string; ignoreErrors: boolean; json: boolean },
): Promise<void> {
  const all: JobResult[] = [];
  for (const f of files) {
    const text = await readFile(f, 'utf8').catch((e: Error) => {
      throw new CopaError('USAGE', `cannot read ${f}: ${e.message}`, {
        hint: 'pass the --results files of the shards',
      });
    });
    all.push(...parseResultLines(text, f));
  }
  let results = mergeResults(all);
  if (flags.plan) {
    const plan = await readPlan(flags.plan);
    const have = new Set(results.map((r) => r.id));
    const missing: JobResult[] = plan.jobs
      .filter((j) => !have.has(j.id))
      .map((j) => ({
        id: j.id,
        name: j.name,
        source: j.source,
        patchedTag: '',
        status: 'Failed',
        details: 'no result: its shard did not finish',
        retryable: true,
      }));
    const known = new Set(plan.jobs.map((j) => j.id));
    results = [...results.filter((r) => known.has(r.id)), ...missing];
  }
  report(results, flags.json);
  failIfAny(results, flags.ignoreErrors);
}
