import { stat } from 'node:fs/promises';
import { CopaError } from '../errors.js';
import { silentLogger } from '../log.js';
import { engineFor } from '../engine/index.js';
import { LayerCache } from '../layers/cache.js';
import { parseReference, withDefaultTag } from '../oci/reference.js';
import { loadReport, reportCounts } from '../report/index.js';
import type { UpdateManifest } from '../report/types.js';
import { PatchOptionsSchema, type PatchOptions, type ResolvedPatchOptions } from './options.js';
import { checkLibraryOptions } from './libraries.js';
import { resolveSourceImage } from './source.js';
import { prepareDelivery } from './sink.js';
import type { PatchResult } from './result.js';
import { asUsage, checkPlatforms, checkSbomOutput } from './validate.js';
import { enforceCap } from '../cache/prune.js';
import { checkAttach } from './attach.js';
import { dryRunWithoutRoot } from './dryrun.js';

const isRoot = (): boolean => typeof process.getuid !== 'function' || process.getuid() === 0;
import { patchedReference } from './tag.js';
import { multiPlatformPlan, patchMulti } from './multi.js';
import { newRegistryClient } from './client.js';

import { patchOne } from './one.js';
import type { FlowEnv, RunContext } from './flow.js';

export type { FlowEnv, PatchedOne, RunContext } from './flow.js';
export { timed } from './one.js';

/**
 * Patch one image: report (or none) → pull → run the image's package manager over its layers in a
 * sandbox → one new layer → push / OCI layout. The whole run is bounded by --timeout and cancellable.
 */
export async function patch(input: PatchOptions): Promise<PatchResult> {
  const opts = PatchOptionsSchema.parse(input);
  const logger = input.logger ?? silentLogger;
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(input.signal?.reason);
  input.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(
    () => controller.abort(new CopaError('TIMEOUT', `patch exceeded timeout ${opts.timeoutMs / 1000}s`)),
    opts.timeoutMs,
  );
  try {
    const result = await raceAbort(
      run(opts, {
        logger,
        signal: controller.signal,
        onOutput: input.onOutput,
        deliver: input.deliver,
        ...(input.progress ? { progress: input.progress } : {}),
      }),
      controller.signal,
    );
    if (opts.sbomOutput && result.status === 'Up-to-date')
      logger.info('--sbom: nothing was patched, no SBOM written');
    if (opts.attach && result.status === 'Up-to-date')
      logger.info('--attach: nothing was patched, nothing attached');
    return result;
  } finally {
    clearTimeout(timer);
    input.signal?.removeEventListener('abort', onAbort);
  }
}

function withReportCounts(
  result: PatchResult,
  report: UpdateManifest | undefined,
  opts: ResolvedPatchOptions,
): PatchResult {
  return report?.summary ? { ...result, report: reportCounts(report.summary, opts.pkgTypes) } : result;
}

/** Reject as soon as the signal fires (the running work notices the same signal and cleans up). */
async function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
    // the work unwinds (sandbox killed, work dir removed) before we return
    await work.catch(() => undefined);
  }
}

function abortError(signal: AbortSignal): CopaError {
  const r: unknown = signal.reason;
  if (r instanceof CopaError) return r;
  return new CopaError('CANCELLED', 'operation canceled', {
    hint: 'the run was interrupted; nothing was written',
  });
}

async function run(opts: ResolvedPatchOptions, ctx: RunContext): Promise<PatchResult> {
  const { logger } = ctx;
  let source = asUsage('-i/--image', () => parseReference(opts.image));
  if (!source.tag && !source.digest) {
    logger.warn(`image reference ${opts.image} has no tag: using ${opts.image}:latest`);
    source = withDefaultTag(source);
  }
  const target = asUsage(opts.tag ? '-t/--tag' : '--tag-suffix', () =>
    patchedReference(source, opts.tag, opts.tagSuffix),
  );
  checkPlatforms(opts.platforms);
  checkAttach(opts);
  const store = await prepareDelivery(opts, { hook: ctx.deliver, logger });
  if (opts.vexOutput && opts.vexFormat !== 'openvex') {
    throw new CopaError('USAGE', `unsupported VEX format ${JSON.stringify(opts.vexFormat)}`, {
      hint: 'use --format openvex',
    });
  }
  let report: UpdateManifest | undefined;
  const reportDir =
    opts.report !== undefined && (await stat(opts.report).catch(() => undefined))?.isDirectory() === true;
  checkLibraryOptions(opts, opts.report !== undefined);
  if (opts.report && !reportDir) {
    report = await loadReport(opts.report, { scanner: opts.scanner, logger, pkgTypes: opts.pkgTypes });
  }
  if (opts.vexOutput && !report)
    logger.warn('--output needs a report (-r): no VEX document will be produced');
  await checkSbomOutput(opts, logger);
  if (opts.engine === 'native' && opts.addr) {
    throw new CopaError('USAGE', '--engine native cannot be combined with --addr', {
      hint: 'drop --addr to run the native engine, or --engine to run on the BuildKit at --addr',
    });
  }
  const engine = engineFor(opts);
  if (opts.dryRun && !isRoot() && engine.name === 'native') {
    // nothing to mount: plan from the layers' package database (see dryrun.ts)
    const client = newRegistryClient(opts, logger, ctx.signal);
    return dryRunWithoutRoot(opts, { client, source, target, report, logger });
  }
  engine.check();
  await engine.prepare?.(logger);

  const client = newRegistryClient(opts, logger, ctx.signal);
  const cache = new LayerCache({ logger, ...(opts.cacheDir ? { dir: opts.cacheDir } : {}) });
  const env: FlowEnv = { opts, ctx, client, cache, store, source, report, engine };
  try {
    // a deliver hook (copa generate) takes exactly one image: the platform asked for, or the host's
    const multi = ctx.deliver ? undefined : await multiPlatformPlan(env, reportDir);
    if (multi) return withReportCounts(await patchMulti(env, multi, target), report, opts);
    const { image, platform } = await resolveSourceImage(client, source, report, opts.platforms[0]);
    await engine.checkPlatform(platform);
    const one = await patchOne(env, image, platform, target, { deliver: true });
    return withReportCounts(one.result, report, opts);
  } finally {
    await engine.close?.();
    // the cache stays under its cap (COPA_CACHE_MAX); what this run uses is never removed
    await enforceCap(cache.dir, logger).catch((e: unknown) =>
      logger.warn(`could not keep the cache under its cap: ${e instanceof Error ? e.message : String(e)}`),
    );
  }
}
