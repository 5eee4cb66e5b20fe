/**
 * Turn a PatchConfig into a plan (planfile.ts): discover tags, pin every source to its digest, decide the
 * target tag (`<base>`, `<base>-N`) and the skips (§6.4 of Copa's bulk mode). Registry reads only; the
 * planning rules themselves are pure functions in tags.ts, target.ts, template.ts.
 */
import { CopaError, isRetryable } from '../errors.js';
import type { Logger } from '../log.js';
import { isIndexMediaType } from '../oci/mediatypes.js';
import { formatReference, parseReference, repositoryName, type ImageReference } from '../oci/reference.js';
import type { RegistryClient } from '../oci/registry/client.js';
import { loadReport } from '../report/index.js';
import { mapLimit } from '../limit.js';
import type { ImageSpec, PatchConfig } from './spec.js';
import { jobId, PLAN_KIND, PLAN_VERSION, type BulkPlan, type PlanJob } from './planfile.js';
import { artifactKey, indexReportsByArtifact, type ReportIndex } from './reports.js';
import { selectTags, versionedTags } from './tags.js';
import { resolveTarget, targetRepository } from './target.js';
import { renderTag } from './template.js';

export interface PlanContext {
  client: RegistryClient;
  logger: Logger;
  /** `-r DIR`: reports of already patched images, for the skip check */
  reportDir?: string;
  scanner: string;
  configFile: string;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Tags of a repository; a repository that does not exist yet has none (registries answer 404). */
async function tagsOf(client: RegistryClient, repo: ImageReference): Promise<string[]> {
  try {
    return await client.listTags(repo);
  } catch (e) {
    if (e instanceof CopaError && e.code === 'NOT_FOUND') return [];
    throw e;
  }
}

export async function planBulk(config: PatchConfig, ctx: PlanContext): Promise<BulkPlan> {
  const reports = ctx.reportDir ? await indexReportsByArtifact(ctx.reportDir) : undefined;
  for (const s of reports?.skipped ?? []) ctx.logger.warn(`-r: ignoring ${s.file}: ${s.reason}`);
  const targetTags = new Map<string, Promise<string[] | undefined>>();
  const perImage = await mapLimit(config.images, 4, (spec) =>
    planImage(spec, config, ctx, reports, targetTags),
  );
  const jobs = perImage.flat();
  // two entries writing one tag would race: the first one wins, the others are errors
  const seen = new Set<string>();
  for (const j of jobs) {
    if (j.action !== 'patch') continue;
    if (seen.has(j.target)) {
      j.action = 'error';
      j.details = `another job of this config already writes ${j.target}`;
    }
    seen.add(j.target);
  }
  if (jobs.length === 0) ctx.logger.warn('the config yields no jobs (no tags matched)');
  return {
    kind: PLAN_KIND,
    version: PLAN_VERSION,
    createdAt: new Date().toISOString(),
    config: ctx.configFile,
    jobs,
  };
}

async function planImage(
  spec: ImageSpec,
  config: PatchConfig,
  ctx: PlanContext,
  reports: ReportIndex | undefined,
  targetTags: Map<string, Promise<string[] | undefined>>,
): Promise<PlanJob[]> {
  const repo = parseReference(spec.image);
  const platforms = spec.platforms ?? [];
  let tags: string[];
  try {
    if (spec.tags.strategy === 'list') tags = selectTags(spec.tags, []);
    else {
      const available = await tagsOf(ctx.client, repo);
      if (available.length === 0) ctx.logger.warn(`${spec.name}: ${repositoryName(repo)} has no tags`);
      tags = selectTags(spec.tags, available);
    }
  } catch (e) {
    ctx.logger.warn(`${spec.name}: tag discovery failed: ${message(e)}`);
    const source = repositoryName(repo);
    return [
      {
        id: jobId({ source, target: '', platforms }),
        name: spec.name,
        source,
        target: '',
        platforms,
        group: source,
        action: 'error',
        details: `tag discovery failed: ${message(e)}`,
        retryable: isRetryable(e),
      },
    ];
  }
  const target = resolveTarget(config.target, spec.target);
  const targetRepo = parseReference(targetRepository(repositoryName(repo), target.registry));
  const targetKey = repositoryName(targetRepo);
  if (!targetTags.has(targetKey)) {
    targetTags.set(
      targetKey,
      tagsOf(ctx.client, targetRepo).catch((e: unknown) => {
        // fail open (Copa): without the list, patch to the base tag
        ctx.logger.warn(`${spec.name}: cannot list the tags of ${targetKey} (${message(e)}): not versioning`);
        return undefined;
      }),
    );
  }
  const existing = (await targetTags.get(targetKey)) ?? [];
  return mapLimit(tags, 4, (tag) =>
    planTag({ spec, tag, repo, targetRepo, template: target.tag, existing, platforms }, ctx, reports),
  );
}

async function planTag(
  t: {
    spec: ImageSpec;
    tag: string;
    repo: ImageReference;
    targetRepo: ImageReference;
    template: string;
    existing: string[];
    platforms: string[];
  },
  ctx: PlanContext,
  reports: ReportIndex | undefined,
): Promise<PlanJob> {
  const source = formatReference({ ...t.repo, tag: t.tag });
  const base = renderTag(t.template, t.tag);
  const { latest, next } = versionedTags(base, t.existing);
  const target = formatReference({ ...t.targetRepo, tag: next });
  const common = { name: t.spec.name, source, platforms: t.platforms };
  const reason =
    latest !== undefined && reports ? await skipReason(t.targetRepo, latest, reports, ctx) : undefined;
  if (reason !== undefined) {
    const latestRef = formatReference({ ...t.targetRepo, tag: latest });
    return {
      ...common,
      id: jobId({ source, target: latestRef, platforms: t.platforms }),
      target: latestRef,
      group: repositoryName(t.repo),
      action: 'skip',
      details: reason,
    };
  }
  try {
    const head = await ctx.client.headManifest(t.repo, t.tag);
    if (!head) throw new CopaError('NOT_FOUND', `${source} does not exist`);
    const group = await baseLayer(ctx.client, t.repo, head.digest, head.mediaType).catch(() =>
      repositoryName(t.repo),
    );
    return {
      ...common,
      id: jobId({ sourceDigest: head.digest, source, target, platforms: t.platforms }),
      sourceDigest: head.digest,
      target,
      group,
      action: 'patch',
    };
  } catch (e) {
    return {
      ...common,
      id: jobId({ source, target, platforms: t.platforms }),
      target,
      group: repositoryName(t.repo),
      action: 'error',
      details: `resolving ${source}: ${message(e)}`,
      retryable: isRetryable(e),
    };
  }
}

/** "no fixable vulnerabilities" when the report of the latest patched tag lists nothing to update. */
async function skipReason(
  targetRepo: ImageReference,
  latest: string,
  reports: ReportIndex,
  ctx: PlanContext,
): Promise<string | undefined> {
  const ref = artifactKey(formatReference({ ...targetRepo, tag: latest }));
  const file = reports.byArtifact.get(ref);
  if (file === undefined) return undefined; // no report: patch (fail open)
  try {
    const report = await loadReport(file, { scanner: ctx.scanner, logger: ctx.logger });
    return report.osUpdates.length + report.langUpdates.length === 0
      ? 'no fixable vulnerabilities'
      : undefined;
  } catch (e) {
    ctx.logger.warn(`-r: cannot read ${file} (${message(e)}): patching ${ref} again`);
    return undefined;
  }
}

/** The first layer of the image (of an index: of its first platform) — the cache-sharing key. */
async function baseLayer(
  client: RegistryClient,
  repo: ImageReference,
  digest: string,
  mediaType: string,
): Promise<string> {
  let m = await client.getManifest(repo, digest);
  if (isIndexMediaType(mediaType)) {
    const index = JSON.parse(m.bytes.toString('utf8')) as { manifests?: Array<{ digest?: string }> };
    const first = index.manifests?.[0]?.digest;
    if (!first) return `${repositoryName(repo)}@${digest}`;
    m = await client.getManifest(repo, first);
  }
  const manifest = JSON.parse(m.bytes.toString('utf8')) as { layers?: Array<{ digest?: string }> };
  return manifest.layers?.[0]?.digest ?? `${repositoryName(repo)}@${digest}`;
}
