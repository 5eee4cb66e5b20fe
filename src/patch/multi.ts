import { availableParallelism } from 'node:os';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CopaError } from '../errors.js';
import type { Image } from '../oci/image.js';
import { writeOciLayout } from '../oci/layout/write.js';
import {
  formatPlatform,
  isAttestation,
  normalizePlatform,
  parsePlatform,
  platformEquals,
} from '../oci/platform.js';
import { formatReference, type ImageReference } from '../oci/reference.js';
import { pushImage, pushIndex } from '../oci/registry/push.js';
import { fetchRemote } from '../oci/registry/remote.js';
import { sha256 } from '../oci/digest.js';
import type { Platform } from '../oci/schemas.js';
import { loadReport } from '../report/index.js';
import type { UpdateManifest } from '../report/types.js';
import { lineageAnnotations } from './image.js';
import { mapLimit } from '../limit.js';
import { patchOne } from './one.js';
import type { FlowEnv, MultiPlan, PatchedOne, PlatformEntry } from './flow.js';
import type { PatchResult, PlatformResult } from './result.js';
import { deliver } from './sink.js';
import { emitSbom } from './sbom.js';
import { indexBase } from './rebase.js';
import { attachMulti } from './attach-multi.js';
import { buildIndex } from './multi-index.js';

/** The eight architectures Copa patches; other entries (windows, unknown archs) are preserved untouched. */
const SUPPORTED = [
  'linux/amd64',
  'linux/arm64',
  'linux/arm/v7',
  'linux/arm/v6',
  'linux/386',
  'linux/ppc64le',
  'linux/s390x',
  'linux/riscv64',
];

const label = (p: Platform): string => formatPlatform(normalizePlatform(p));
const supported = (p: Platform): boolean => SUPPORTED.some((s) => platformEquals(parsePlatform(s), p));

/**
 * Decide the mode (Copa §1.8): a report directory, or no report with an index of ≥ 2 platforms, is a
 * multi-platform run; otherwise undefined (single platform).
 */
export async function multiPlatformPlan(env: FlowEnv, reportDir: boolean): Promise<MultiPlan | undefined> {
  const { opts, client, source, ctx } = env;
  if (opts.report && !reportDir) return undefined;
  const fetched = await fetchRemote(client, source);
  if (fetched.kind !== 'index') {
    if (reportDir) {
      throw new CopaError(
        'USAGE',
        `${formatReference(source)} is a single-platform image but --report is a directory`,
        {
          hint: 'pass the report file of that image',
        },
      );
    }
    return undefined;
  }
  const raw = await fetched.index.index();
  const children = raw.manifests.filter((d) => d.platform && !isAttestation(d));
  if (!reportDir && children.length < 2) return undefined;

  let reports: UpdateManifest[] = [];
  if (reportDir && opts.report) {
    const files = (await readdir(opts.report, { withFileTypes: true }))
      .filter((f) => f.isFile())
      .map((f) => join(opts.report as string, f.name))
      .sort();
    reports = await Promise.all(
      files.map((f) => loadReport(f, { scanner: opts.scanner, logger: ctx.logger })),
    );
  }
  const wanted = opts.platforms.map((p) => normalizePlatform(parsePlatform(p)));
  const entries: PlatformEntry[] = children.map((desc) => {
    const platform = normalizePlatform(desc.platform as Platform);
    if (!supported(platform))
      return { desc, platform, action: 'preserve', reason: 'platform not supported for patching' };
    if (reportDir) {
      const report = reports.find((r) =>
        platformEquals(
          normalizePlatform({
            os: 'linux',
            architecture: r.arch,
            ...(r.variant ? { variant: r.variant } : {}),
          }),
          platform,
        ),
      );
      return report
        ? { desc, platform, action: 'patch', report }
        : { desc, platform, action: 'preserve', reason: 'no scan report for platform' };
    }
    if (wanted.length > 0 && !wanted.some((w) => platformEquals(w, platform))) {
      return { desc, platform, action: 'preserve', reason: 'not in --platform list' };
    }
    return { desc, platform, action: 'patch' };
  });
  if (wanted.length > 0 && !entries.some((e) => e.action === 'patch')) {
    throw new CopaError(
      'PLATFORM',
      `none of --platform ${opts.platforms.join(',')} is in ${formatReference(source)}`,
      {
        hint: `available: ${children.map((d) => label(d.platform as Platform)).join(', ')}`,
      },
    );
  }
  return { index: fetched.index, raw, entries };
}

/** `<tag>-<arch>[-<variant>]` */
export function platformTag(tag: string, p: Platform): string {
  return `${tag}-${p.architecture}${p.variant ? `-${p.variant}` : ''}`;
}

/** Patch the chosen platforms concurrently, then write one index (patched + preserved descriptors). */
export async function patchMulti(
  env: FlowEnv,
  plan: MultiPlan,
  target: ImageReference,
): Promise<PatchResult> {
  const { opts, ctx } = env;
  const { logger } = ctx;
  const toPatch = plan.entries.filter((e) => e.action === 'patch');
  // emulation is checked before any work
  const missing: PlatformEntry[] = [];
  const hints: string[] = [];
  for (const e of toPatch) {
    const hint = await env.engine.platformHint(e.platform);
    if (hint === undefined) continue;
    missing.push(e);
    hints.push(hint);
  }
  if (missing.length > 0 && !opts.ignoreErrors) {
    throw new CopaError(
      'PLATFORM',
      `emulation is not enabled for platform ${missing.map((m) => label(m.platform)).join(', ')}`,
      {
        hint: hints[0] ?? '',
      },
    );
  }
  logger.info(
    `Patching ${formatReference(env.source)}: ${toPatch.map((e) => label(e.platform)).join(', ')}` +
      (plan.entries.length > toPatch.length
        ? `; preserving ${someOf(plan.entries.filter((e) => e.action === 'preserve').map((e) => label(e.platform)))}`
        : ''),
  );
  const outcomes = await mapLimit(
    toPatch,
    availableParallelism(),
    async (e): Promise<{ entry: PlatformEntry; one?: PatchedOne; error?: Error }> => {
      if (missing.includes(e))
        return {
          entry: e,
          error: new CopaError('PLATFORM', `emulation is not enabled for platform ${label(e.platform)}`),
        };
      try {
        const image = await plan.index.image(e.desc);
        const tag = platformTag(target.tag ?? 'latest', e.platform);
        const one = await patchOne(
          { ...env, report: e.report },
          image,
          e.platform,
          { ...target, tag },
          { deliver: false },
        );
        return { entry: e, one };
      } catch (err) {
        logger.warn(`${label(e.platform)}: ${(err as Error).message}`);
        return { entry: e, error: err as Error };
      }
    },
  );
  try {
    return await assemble(env, plan, target, outcomes);
  } finally {
    for (const o of outcomes) await o.one?.cleanup();
  }
}

async function assemble(
  env: FlowEnv,
  plan: MultiPlan,
  target: ImageReference,
  outcomes: Array<{ entry: PlatformEntry; one?: PatchedOne; error?: Error }>,
): Promise<PatchResult> {
  const { opts, ctx, client } = env;
  const { logger } = ctx;
  const results: PlatformResult[] = plan.entries.map((e) => {
    const o = outcomes.find((x) => x.entry === e);
    if (!o) return { platform: label(e.platform), status: 'Preserved', reason: e.reason };
    if (o.error) return { platform: label(e.platform), status: 'Error', reason: o.error.message };
    const r = o.one?.result;
    return {
      platform: label(e.platform),
      status: r?.status === 'Patched' ? 'Patched' : r?.status === 'DryRun' ? 'DryRun' : 'Up-to-date',
      plan: r?.plan,
      digest: r?.digest,
      layer: r?.layer,
      timings: r?.timings,
    };
  });
  const attempted = outcomes.length;
  const errors = outcomes.filter((o) => o.error);
  const patched = outcomes.filter((o) => o.one?.image);
  const base: PatchResult = {
    status: patched.length > 0 ? 'Patched' : opts.dryRun ? 'DryRun' : 'Up-to-date',
    image: formatReference(env.source),
    platform: 'multi',
    platforms: results,
    output: { kind: 'none' },
  };
  if (errors.length > 0 && (!opts.ignoreErrors || errors.length === attempted)) {
    printTable(results, logger);
    throw new CopaError(
      'PACKAGE_MANAGER',
      errors.length === attempted ? 'all platform patches failed' : 'one or more platform patches failed',
      {
        hint: errors.map((e) => `${label(e.entry.platform)}: ${e.error?.message ?? ''}`).join('; '),
      },
    );
  }
  if (patched.length === 0 || opts.dryRun) return base;

  const lineage = indexBase(
    formatReference(env.source),
    await plan.index.digest(),
    patched.map((o) => o.one?.base),
  );
  const index = buildIndex(
    plan,
    patched.map((o) => ({ desc: o.entry.desc, image: o.one?.image as Image })),
    { ...opts.annotations, ...lineageAnnotations(lineage) },
  );
  const indexRaw = await index.rawManifest();
  let out: PatchResult['output'] = { kind: 'none' };
  let digest: string | undefined;
  if (opts.ociDir) {
    const refName = target.tag ?? 'latest';
    await writeOciLayout(opts.ociDir, [{ index, refName }], { signal: ctx.signal });
    out = { kind: 'oci-layout', location: `${opts.ociDir}:${refName}` };
    digest = sha256(indexRaw);
  }
  if (opts.push) {
    for (const o of patched) {
      const tag = platformTag(target.tag ?? 'latest', o.entry.platform);
      await pushImage(client, o.one?.image as Image, { ...target, tag }, { logger, signal: ctx.signal });
      logger.info(`Pushed ${formatReference({ ...target, tag })}`);
    }
    digest = (await pushIndex(client, index, target, { logger, signal: ctx.signal })).digest;
    out = { kind: 'registry', location: formatReference(target) };
  }
  if (!opts.ociDir && !opts.push) {
    // local stores hold images, not indexes: each patched platform under its own tag
    for (const o of patched) {
      const tag = platformTag(target.tag ?? 'latest', o.entry.platform);
      const layer = o.one?.result.layer;
      await deliver(o.one?.image as Image, {
        opts,
        client,
        target: { ...target, tag },
        logger,
        store: env.store,
        signal: ctx.signal,
        ...(layer ? { layer } : {}),
      });
    }
    out = { kind: 'none' };
  }
  const inventories = patched.flatMap((o) => (o.one?.inventory ? [o.one.inventory] : []));
  const subject = { name: formatReference(target), digest, base: lineage, index: true };
  await emitSbom(opts, subject, inventories, logger);
  const referrers =
    opts.attach && opts.push
      ? await attachMulti(env, plan, target, patched, (e) => ({
          ...target,
          tag: platformTag(target.tag ?? 'latest', e.platform),
        }))
      : undefined;
  printTable(results, logger);
  return { ...base, patchedImage: out.location, digest, output: out, ...(referrers ? { referrers } : {}) };
}

function printTable(results: PlatformResult[], logger: FlowEnv['ctx']['logger']): void {
  const w = Math.max(8, ...results.map((r) => r.platform.length));
  logger.info(`${'PLATFORM'.padEnd(w)}  STATUS      DETAILS`);
  for (const r of results)
    logger.info(`${r.platform.padEnd(w)}  ${r.status.padEnd(10)}  ${r.reason ?? r.digest ?? ''}`);
}

/** "a, b, c" — or the first ten and how many more, so a hostile index of 10,000 entries is one short line. */
function someOf(names: string[], max = 10): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}
