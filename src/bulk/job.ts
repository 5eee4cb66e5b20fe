/**
 * One bulk job: the normal single-image patch of a pinned source into its planned target tag, in
 * update-all mode, with the job id recorded as an annotation. A job whose target already carries its id
 * was finished by an earlier (killed) attempt: it is recognised, not pushed again.
 */
import { CopaError, isRetryable } from '../errors.js';
import type { Logger } from '../log.js';
import { parseReference } from '../oci/reference.js';
import type { RegistryClient } from '../oci/registry/client.js';
import { patch } from '../patch/patch.js';
import type { PatchOptions } from '../patch/options.js';
import { JOB_ANNOTATION, type PlanJob } from './planfile.js';
import type { JobResult } from './summary.js';

/** Everything of `copa patch` a job inherits from the bulk run (not image, tag, report, platforms). */
export type JobDefaults = Omit<PatchOptions, 'image' | 'tag' | 'report' | 'platforms' | 'annotations'>;

export function resultOf(
  job: PlanJob,
  fields: Omit<JobResult, 'id' | 'name' | 'source' | 'patchedTag'>,
): JobResult {
  return {
    id: job.id,
    name: job.name,
    source: job.source,
    patchedTag: job.target ? (parseReference(job.target).tag ?? job.target) : '',
    ...fields,
  };
}

/** The digest of `job.target` when an earlier attempt of this very job pushed it; throws if someone else did. */
export async function pushedBefore(client: RegistryClient, job: PlanJob): Promise<string | undefined> {
  const target = parseReference(job.target);
  const tag = target.tag ?? '';
  const head = await client.headManifest(target, tag);
  if (!head) return undefined;
  const m = await client.getManifest(target, head.digest);
  const doc = JSON.parse(m.bytes.toString('utf8')) as { annotations?: Record<string, string> };
  if (doc.annotations?.[JOB_ANNOTATION] === job.id) return head.digest;
  throw new CopaError(
    'USAGE',
    `${job.target} already exists and was not written by this job: not overwritten`,
    {
      hint: 'make a new plan (copa plan) so the target tag is bumped to the next -N',
    },
  );
}

export async function runJob(
  job: PlanJob,
  defaults: JobDefaults,
  ctx: { client: RegistryClient; logger: Logger; resume: boolean },
): Promise<JobResult> {
  const started = Date.now();
  const took = (): number => Date.now() - started;
  if (job.action === 'skip') return resultOf(job, { status: 'Skipped', details: job.details ?? 'skipped' });
  if (job.action === 'error') {
    return resultOf(job, {
      status: 'Error',
      details: job.details ?? 'cannot run',
      ...(job.retryable ? { retryable: true } : {}),
    });
  }
  try {
    if (ctx.resume && defaults.push) {
      const digest = await pushedBefore(ctx.client, job);
      if (digest) {
        ctx.logger.info(`${job.target} was pushed by an earlier attempt of this job: not patching again`);
        return resultOf(job, {
          status: 'Patched',
          details: 'OK (pushed by an earlier attempt)',
          digest,
          resumed: true,
          durationMs: took(),
        });
      }
    }
    const result = await patch({
      ...defaults,
      image: job.sourceDigest ? `${job.source}@${job.sourceDigest}` : job.source,
      tag: job.target,
      platforms: job.platforms,
      annotations: { [JOB_ANNOTATION]: job.id },
      logger: ctx.logger,
    });
    if (result.status === 'Up-to-date') {
      return resultOf(job, { status: 'Skipped', details: 'image is already up-to-date', durationMs: took() });
    }
    if (result.status === 'DryRun')
      return resultOf(job, { status: 'Skipped', details: 'dry run', durationMs: took() });
    const n =
      result.plan?.updates.length ??
      (result.platforms ?? []).reduce((s, p) => s + (p.plan?.updates.length ?? 0), 0);
    return resultOf(job, {
      status: 'Patched',
      details: `OK (${n} package update${n === 1 ? '' : 's'})`,
      ...(result.digest ? { digest: result.digest } : {}),
      durationMs: took(),
    });
  } catch (e) {
    if (e instanceof CopaError && e.code === 'NO_UPDATES') {
      return resultOf(job, { status: 'Skipped', details: 'image is already up-to-date', durationMs: took() });
    }
    return resultOf(job, {
      status: 'Failed',
      details: e instanceof Error ? e.message : String(e),
      ...(isRetryable(e) ? { retryable: true } : {}),
      durationMs: took(),
    });
  }
}
