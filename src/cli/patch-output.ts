/** What `copa patch` prints once a single (not bulk) patch has ended. */
import type { Logger } from '../log.js';
import { formatTimings } from '../patch/phases.js';
import { formatPlan } from '../patch/plan.js';
import type { PatchResult } from '../patch/result.js';
import { finalSummary } from './summary.js';

/** The phase table(s) of --timings, on stderr (one per platform in a multi-platform run). */
export function printTimings(result: PatchResult, totalSeconds: number): void {
  const tables = result.timings
    ? [{ title: result.platform, timings: result.timings }]
    : (result.platforms ?? []).flatMap((p) => (p.timings ? [{ title: p.platform, timings: p.timings }] : []));
  for (const t of tables) {
    process.stderr.write(`Timings (${t.title}):\n${formatTimings(t.timings, totalSeconds).join('\n')}\n`);
  }
}

/**
 * The end of a single patch: the result as JSON on stdout (`--json`), a dry run's plan, the warnings of what
 * `--ignore-errors` let through, and the run's one summary on stderr.
 */
export function printResult(
  result: PatchResult,
  logger: Logger,
  opts: { json: boolean; quiet: boolean; totalSeconds: number },
): void {
  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  const plans = result.plan
    ? [result.plan]
    : (result.platforms ?? []).flatMap((p) => (p.plan ? [p.plan] : []));
  if (result.status === 'DryRun') {
    const lines = plans.map((p) => formatPlan(p).join('\n')).join('\n') + '\n';
    if (opts.json) process.stderr.write(lines);
    else process.stdout.write(lines);
  }
  for (const f of result.libraryFailed ?? []) {
    logger.warn(
      `library ${f.name} (${f.path}) was not patched to ${f.required}: ${f.reason} (ignored: --ignore-errors)`,
    );
  }
  for (const f of result.failed ?? []) {
    logger.warn(
      `downloaded package ${f.name} version ${f.installed ?? '(none)'} lower than required ${f.required} for update (ignored: --ignore-errors)`,
    );
  }
  // the one summary of the run, at its end (also with --progress quiet: then just the result line)
  process.stderr.write(finalSummary(result, opts).join('\n') + '\n');
}
