import { rm, stat } from 'node:fs/promises';
import { CopaError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { defaultEngine } from '../engine/index.js';
import type { Engine, ImageRoot } from '../engine/types.js';
import { LayerCache } from '../layers/cache.js';
import { formatPlatform } from '../oci/platform.js';
import { formatReference, parseReference, withDefaultTag } from '../oci/reference.js';
import { loadReport } from '../report/index.js';
import type { UpdateManifest } from '../report/types.js';
import { PatchOptionsSchema, type PatchOptions, type ResolvedPatchOptions } from './options.js';
import { runStages } from './stages.js';
import { checkLibraryOptions } from './libraries.js';
import { resolveToolingImage } from './tooling.js';
import { findLineage } from './rebase.js';
import { checkEol, eolError, eolWarning } from '../eol/index.js';
import { buildOpenVex, writeVex } from '../vex/index.js';
import { buildPatchedImage } from './image.js';
import { resolveSourceImage } from './source.js';
import { deliver, prepareDelivery } from './sink.js';
import type { PatchResult } from './result.js';
import { patchedReference } from './tag.js';
import type { Image } from '../oci/image.js';
import type { ImageReference } from '../oci/reference.js';
import type { RegistryClient } from '../oci/registry/client.js';
import type { Platform } from '../oci/schemas.js';
import type { LocalStore } from '../oci/load/index.js';
import { multiPlatformPlan, patchMulti } from './multi.js';
import { newRegistryClient } from './client.js';
import { mapLimit } from '../limit.js';

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
    return await raceAbort(
      run(opts, { logger, signal: controller.signal, onOutput: input.onOutput, deliver: input.deliver }),
      controller.signal,
    );
  } finally {
    clearTimeout(timer);
    input.signal?.removeEventListener('abort', onAbort);
  }
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

export interface RunContext {
  logger: Logger;
  signal: AbortSignal;
  onOutput?: PatchOptions['onOutput'];
  deliver?: PatchOptions['deliver'];
}

async function run(opts: ResolvedPatchOptions, ctx: RunContext): Promise<PatchResult> {
  const { logger } = ctx;
  let source = parseReference(opts.image);
  if (!source.tag && !source.digest) {
    logger.warn(`image reference ${opts.image} has no tag: using ${opts.image}:latest`);
    source = withDefaultTag(source);
  }
  const target = patchedReference(source, opts.tag, opts.tagSuffix);
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
  const engine = defaultEngine();
  engine.check();

  const client = newRegistryClient(opts, logger);
  const cache = new LayerCache({ logger, ...(opts.cacheDir ? { dir: opts.cacheDir } : {}) });
  const env: FlowEnv = { opts, ctx, client, cache, store, source, report, engine };
  // a deliver hook (copa generate) takes exactly one image: the platform asked for, or the host's
  const multi = ctx.deliver ? undefined : await multiPlatformPlan(env, reportDir);
  if (multi) return patchMulti(env, multi, target);
  const { image, platform } = await resolveSourceImage(client, source, report, opts.platforms[0]);
  await engine.checkPlatform(platform);
  const one = await patchOne(env, image, platform, target, { deliver: true });
  return one.result;
}

/** Everything a per-image patch needs from the run. */
export interface FlowEnv {
  opts: ResolvedPatchOptions;
  ctx: RunContext;
  client: RegistryClient;
  cache: LayerCache;
  store: LocalStore | undefined;
  source: ImageReference;
  report: UpdateManifest | undefined;
  engine: Engine;
}

export interface PatchedOne {
  result: PatchResult;
  /** the patched image (Patched only); its new layer lives in the work dir until `cleanup` */
  image?: Image;
  cleanup(): Promise<void>;
}

/**
 * Patch one single-platform image: layers → sandbox → package manager → one layer → output. With
 * `deliverTo: 'none'` the patched image is returned undelivered (multi-platform runs assemble an index).
 */
export async function patchOne(
  env: FlowEnv,
  image: Image,
  platform: Platform,
  target: ImageReference,
  mode: { deliver: boolean },
): Promise<PatchedOne> {
  const { opts, ctx, client, cache, store, source, report, engine } = env;
  const { logger, signal } = ctx;
  const layers = await image.layers();
  logger.info(`Pulling ${formatReference(source)} (${formatPlatform(platform)}, ${layers.length} layers)`);
  const allDirs = await timed(logger, 'layers ready', () => mapLimit(layers, 3, (l) => cache.ensure(l)));
  signal.throwIfAborted();
  const lineage = await findLineage(client, image, platform, logger);
  // re-patching: the old patch layers become part of the new change set
  const keep = lineage.kind === 'rebase' ? lineage.keep : allDirs.length;
  const layerDirs = allDirs.slice(0, keep);
  const seedDirs = allDirs.slice(keep);

  const workDir = await engine.createWorkDir(opts.workingFolder ?? cache.tempRoot(), logger);
  const cleanup = async (): Promise<void> => {
    if (opts.debug) logger.warn(`--debug: keeping the work dir ${workDir}; remove it when done`);
    else await rm(workDir, { recursive: true, force: true });
  };
  let keepDir = false;
  try {
    const root: ImageRoot = await engine.openImageRoot({ layerDirs, seedDirs, workDir, logger, signal });
    const pull = async (candidates: string[], override?: string): Promise<string[]> => {
      const tooling = await resolveToolingImage(client, candidates, { override, platform, logger });
      return mapLimit(await tooling.image.layers(), 3, (l) => cache.ensure(l));
    };
    const onOutput = ctx.onOutput;
    const { applied, libraries } = await timed(logger, 'package managers done', () =>
      runStages(root, {
        apply: {
          opts,
          report,
          cacheDir: cache.dir,
          workDir,
          platform,
          imageRef: formatReference(source),
          targetRef: formatReference(target),
          logger,
          signal,
          ...(onOutput ? { onOutput } : {}),
        },
        libraries: {
          opts,
          image,
          source,
          platform,
          workDir,
          logger,
          signal,
          onOutput,
          tooling: (c: string[]) => pull(c),
        },
        osTooling: (c) => pull(c, opts.toolingImage),
        endOfLife: (os) => endOfLife(os, opts, logger, signal),
      }),
    );
    const changed = applied.plan.updates.length + (libraries?.changes.length ?? 0);
    const base: PatchResult = {
      status: changed === 0 ? 'Up-to-date' : opts.dryRun ? 'DryRun' : 'Patched',
      image: formatReference(source),
      platform: formatPlatform(platform),
      plan: applied.plan,
      output: { kind: 'none' },
    };
    if (base.status !== 'Patched') return { result: base, cleanup: () => Promise.resolve() };
    const built = await timed(logger, 'layer written', () =>
      buildPatchedImage(
        image,
        root,
        [...root.created(), ...applied.excluded, ...(libraries?.excluded ?? [])],
        {
          workDir,
          // Copa keeps the first BaseImage; a lost base makes this image the new base
          baseImage: lineage.kind === 'rebase' ? lineage.baseRef : opts.image,
          keepLayers: keep,
          targetTag: target.tag ?? '',
          annotations: opts.annotations,
        },
      ),
    );
    signal.throwIfAborted();
    if (!mode.deliver) {
      keepDir = true;
      return {
        result: {
          ...base,
          digest: await built.image.digest(),
          layer: built.layer,
          installed: applied.installed,
          failed: applied.failed,
          libraryFailed: libraries?.failed,
        },
        image: built.image,
        cleanup,
      };
    }
    const delivered = await timed(logger, 'image delivered', () =>
      deliver(built.image, {
        opts,
        client,
        target,
        logger,
        signal,
        workDir,
        layer: built.layer,
        store,
        hook: ctx.deliver,
      }),
    );
    const validated = [...(applied.validated ?? []), ...(libraries?.validated ?? [])];
    const failedNames = new Set([
      ...(applied.failed ?? []).map((f) => f.name),
      ...(libraries?.failed ?? []).map((f) => f.name),
    ]);
    if (opts.vexOutput && report && delivered.digest && validated.length > 0) {
      const doc = buildOpenVex({
        imageRef: formatReference(target),
        imageDigest: delivered.digest,
        manifest: report,
        validated,
        failedNames,
      });
      await writeVex(opts.vexOutput, doc);
      logger.info(`Wrote VEX document ${opts.vexOutput} (${doc.statements.length} statement(s))`);
    }
    const result: PatchResult = {
      ...base,
      patchedImage: delivered.location,
      digest: delivered.digest,
      layer: built.layer,
      installed: applied.installed,
      failed: applied.failed,
      libraryFailed: libraries?.failed,
      output: { kind: delivered.kind, location: delivered.location },
    };
    return { result, cleanup: () => Promise.resolve() };
  } finally {
    if (!keepDir) await cleanup();
  }
}

/** Update-all mode only (Copa §2.8): warn about an end-of-life OS release; fatal with --exit-on-eol. */
async function endOfLife(
  os: { type: string; version: string },
  opts: ResolvedPatchOptions,
  logger: Logger,
  signal: AbortSignal,
) {
  const result = await checkEol(os, { apiUrl: opts.eolApiUrl, logger, signal });
  if (!result.isEol) return;
  if (opts.exitOnEol) throw eolError(os);
  logger.warn(eolWarning(os, result));
}

export async function timed<T>(logger: Logger, what: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const value = await fn();
  logger.debug(`${what} in ${((performance.now() - start) / 1000).toFixed(2)}s`);
  return value;
}
