/**
 * The bulk plan (`copa plan --config FILE -o plan.json`): every job decided once — source pinned to its
 * digest, target tag (with its `-N` bump) chosen, skips decided — so that any number of shards, on any
 * machines, run exactly the jobs a single `copa patch --config` run would. Versioned JSON: readers refuse
 * a kind or version they do not know.
 */
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { CopaError } from '../errors.js';

export const PLAN_KIND = 'CopaBulkPlan';
export const PLAN_VERSION = 1;
/** manifest (and index) annotation that names the bulk job an output was pushed by */
export const JOB_ANNOTATION = 'sh.copa.bulk.job-id';

const JobSchema = z.object({
  /** stable id: hash of pinned source, target and platforms */
  id: z.string().regex(/^[a-f0-9]{16}$/),
  /** the config's image `name` (summary NAME) */
  name: z.string(),
  /** `registry/repo:tag` as discovered */
  source: z.string(),
  /** manifest digest the tag pointed at when planned (patch jobs) */
  sourceDigest: z
    .string()
    .regex(/^sha256:[a-f0-9]{64}$/)
    .optional(),
  /** `registry/repo:tag` to write (for skips: the latest existing patched tag) */
  target: z.string(),
  platforms: z.array(z.string()),
  /** jobs that share cached work (the same base layer) share a group, hence a shard */
  group: z.string(),
  action: z.enum(['patch', 'skip', 'error']),
  /** why a job is skipped or cannot run */
  details: z.string().optional(),
  retryable: z.boolean().optional(),
});
export type PlanJob = z.infer<typeof JobSchema>;

const PlanSchema = z.object({
  kind: z.literal(PLAN_KIND),
  version: z.literal(PLAN_VERSION),
  createdAt: z.string(),
  /** the PatchConfig file it was made from (informative) */
  config: z.string(),
  jobs: z.array(JobSchema),
});
export type BulkPlan = z.infer<typeof PlanSchema>;

export function jobId(parts: {
  sourceDigest?: string;
  source: string;
  target: string;
  platforms: string[];
}): string {
  const key = JSON.stringify([parts.sourceDigest ?? parts.source, parts.target, [...parts.platforms].sort()]);
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

export async function writePlan(file: string, plan: BulkPlan): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(plan, null, 2) + '\n');
  await rename(tmp, file);
}

export async function readPlan(file: string): Promise<BulkPlan> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new CopaError('USAGE', `cannot read the plan ${file}: ${(e as Error).message}`, {
      hint: 'make one with: copa plan --config FILE -o plan.json',
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CopaError('USAGE', `${file}: not a JSON plan`, {
      hint: 'make one with: copa plan --config FILE -o plan.json',
    });
  }
  const head = json as { kind?: unknown; version?: unknown } | null;
  if (head?.kind === PLAN_KIND && head.version !== PLAN_VERSION) {
    throw new CopaError(
      'USAGE',
      `${file}: plan version ${JSON.stringify(head.version)} is not supported (this copa reads version ${PLAN_VERSION})`,
      { hint: 'make the plan with the same copa version that runs it' },
    );
  }
  const parsed = PlanSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.map(String).join('.') || '(top)';
    throw new CopaError('USAGE', `${file}: ${where}: ${issue?.message ?? 'invalid plan'}`, {
      hint: 'make the plan with: copa plan --config FILE -o plan.json (do not edit it by hand)',
    });
  }
  const ids = new Set<string>();
  for (const j of parsed.data.jobs) {
    if (ids.has(j.id)) throw new CopaError('USAGE', `${file}: job ${j.id} appears twice`);
    ids.add(j.id);
  }
  return parsed.data;
}
