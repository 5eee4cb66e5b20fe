/**
 * One single-platform image through the whole flow: layers -> image root -> package managers -> one layer
 * -> output. The single-image and multi-platform runs both call it.
 */
import type { Logger } from '../log.js';
import type { ImageRoot, ToolingRoot } from '../engine/types.js';
import { CopaError } from '../errors.js';
import { isLayerMediaType } from '../oci/mediatypes.js';
import { formatPlatform } from '../oci/platform.js';
import { formatReference, parseReference } from '../oci/reference.js';
import type { ResolvedPatchOptions } from './options.js';
import { runStages } from './stages.js';
import { watchSpace } from './space-watch.js';
import { resolveToolingImage } from './tooling.js';
import { baseImageOf, findLineage } from './rebase.js';
import { inventoryOf } from './sbom.js';
import { emitDocuments, vexFacts } from './documents.js';
import type { ImageInventory } from '../sbom/index.js';
import { checkEol, eolError, eolWarning } from '../eol/index.js';
import { buildPatchedImage } from './image.js';
import { deliver } from './sink.js';
import type { PatchResult } from './result.js';
import type { Image } from '../oci/image.js';
import type { ImageReference } from '../oci/reference.js';
import type { Platform } from '../oci/schemas.js';
import { mapLimit } from '../limit.js';
import { Phases } from './phases.js';
import type { FlowEnv, PatchedOne } from './flow.js';

const mib = (n: number): string => (n / 2 ** 20).toFixed(1);

/** overlayfs's own limit on lower layers (OVL_MAX_STACK); the image's plus the new one must fit */
const MAX_LAYERS = 499;

/**
 * Patch one single-platform image: layers → sandbox → package manager → one layer → output. With
 * `deliverTo: 'none'` the patched image is returned undelivered (multi-platform runs assemble an index).
 * Running out of disk space anywhere is one line naming the directory and the phase.
 */
export async function patchOne(
  env: FlowEnv,
  image: Image,
  platform: Platform,
  target: ImageReference,
  mode: { deliver: boolean },
): Promise<PatchedOne> {
  const watch = await watchSpace(env);
  try {
    return await patchWatched(watch.env, image, platform, target, mode);
  } catch (e) {
    throw watch.explain(e);
  }
}

async function patchWatched(
  env: FlowEnv,
  image: Image,
  platform: Platform,
  target: ImageReference,
  mode: { deliver: boolean },
): Promise<PatchedOne> {
  const { opts, ctx, client, cache, store, source, report, engine } = env;
  const { logger, signal } = ctx;
  const layers = await image.layers();
  if (layers.length > MAX_LAYERS) {
    throw new CopaError(
      'REGISTRY',
      `${formatReference(source)} (${formatPlatform(platform)}) has ${layers.length} layers; at most ${MAX_LAYERS} can be stacked`,
      { hint: 'overlayfs stacks at most 500 layers (docker refuses more than 125): squash the image first' },
    );
  }
  const odd = layers.find((l) => !isLayerMediaType(l.mediaType));
  if (odd !== undefined) {
    throw new CopaError(
      'REGISTRY',
      `${formatReference(source)} (${formatPlatform(platform)}): layer ${odd.digest} has media type ${JSON.stringify(odd.mediaType.slice(0, 100))}, not an image layer`,
      { hint: 'name an image whose layers are tar archives (OCI or Docker schema 2), not an artifact' },
    );
  }
  logger.info(`Pulling ${formatReference(source)} (${formatPlatform(platform)}, ${layers.length} layers)`);
  const phases = new Phases(logger, ctx.progress, formatPlatform(platform));
  const pulled = new Map<string, number>();
  const total = layers.reduce((n, l) => n + l.size, 0);
  const pullProgress = (l: { digest: string; size: number }) => (bytes: number) => {
    pulled.set(l.digest, bytes);
    const sum = [...pulled.values()].reduce((n, b) => n + b, 0);
    const complete = layers.filter((x) => (pulled.get(x.digest) ?? 0) >= x.size).length;
    phases.update('layers ready', `${mib(sum)}/${mib(total)} MiB, ${complete}/${layers.length} layers`);
  };
  // an engine that pulls for itself (BuildKit) gets the image by reference instead
  const allDirs = engine.pullsImages
    ? []
    : await phases.time('layers ready', () => mapLimit(layers, 3, (l) => cache.ensure(l, pullProgress(l))));
  signal.throwIfAborted();
  const lineage = await findLineage(client, image, platform, logger);
  // re-patching: the old patch layers become part of the new change set
  const keep = lineage.kind === 'rebase' ? lineage.keep : layers.length;
  const layerDirs = allDirs.slice(0, keep);
  const seedDirs = allDirs.slice(keep);

  const workDir = await engine.createWorkDir(opts.workingFolder ?? cache.tempRoot(), logger);
  const cleanup = async (): Promise<void> => {
    if (opts.debug) {
      const kept = await engine.keepWorkDir(workDir);
      logger.warn(`--debug: kept the work dir ${kept}; remove it when done`);
    } else await engine.removeWorkDir(workDir);
  };
  let keepDir = false;
  let disposeRoot: ImageRoot | undefined;
  try {
    const imageRef = { ref: pinned(source, await image.digest()), platform };
    const root: ImageRoot = await engine.openImageRoot({
      layerDirs,
      seedDirs,
      seedLayers: layers.slice(keep),
      workDir,
      imageBytes: engine.pullsImages ? 0 : await cache.sizeOf(layers.map((l) => l.diffID)),
      logger,
      signal,
      image: imageRef,
    });
    disposeRoot = root;
    if (root.memoryScratch !== undefined) env.ctx.onMemoryScratch?.(root.memoryScratch);
    const pull = async (
      candidates: string[],
      override?: string,
    ): Promise<Omit<ToolingRoot, 'targetPath'>> => {
      const tooling = await resolveToolingImage(client, candidates, { override, platform, logger });
      const ref = pinned(parseReference(tooling.ref), await tooling.image.digest());
      if (engine.pullsImages) return { layerDirs: [], ref };
      return { layerDirs: await mapLimit(await tooling.image.layers(), 3, (l) => cache.ensure(l)), ref };
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
          phases,
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
      ...(libraries?.failed.length ? { libraryFailed: libraries.failed } : {}),
      output: { kind: 'none' },
    };
    if (base.status !== 'Patched') {
      return { result: { ...base, timings: phases.list() }, cleanup: () => Promise.resolve() };
    }
    const baseImage = await baseImageOf(lineage, source, image);
    const built = await phases.time('layer written', () =>
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
          base: baseImage,
          logger,
          onBytes: (n) => phases.update('layer written', `${mib(n)} MiB`),
        },
      ),
    );
    signal.throwIfAborted();
    const inventory = (digest: string): ImageInventory => inventoryOf(applied, libraries, platform, digest);
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
          timings: phases.list(),
        },
        image: built.image,
        vex: vexFacts(applied, libraries),
        base: baseImage,
        inventory: inventory(await built.image.digest()),
        cleanup,
      };
    }
    const delivered = await phases.time('image delivered', () =>
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
        onBytes: (n) => phases.update('image delivered', `${mib(n)} MiB uploaded`),
      }),
    );
    const referrers = await emitDocuments(
      { opts, client, logger },
      {
        target,
        image: built.image,
        delivered,
        report,
        facts: vexFacts(applied, libraries),
        base: baseImage,
        inventory,
      },
    );
    const result: PatchResult = {
      ...base,
      patchedImage: delivered.location,
      digest: delivered.digest,
      layer: built.layer,
      installed: applied.installed,
      failed: applied.failed,
      libraryFailed: libraries?.failed,
      output: { kind: delivered.kind, location: delivered.location },
      timings: phases.list(),
      ...(referrers ? { referrers } : {}),
    };
    return { result, cleanup: () => Promise.resolve() };
  } finally {
    await disposeRoot?.dispose?.().catch((e: unknown) => logger.debug(`engine: ${String(e)}`));
    if (!keepDir) await cleanup();
  }
}

/** `registry/repository@digest`: the image exactly as resolved here, for an engine that pulls it itself */
function pinned(ref: ImageReference, digest: string): string {
  return `${ref.registry}/${ref.repository}@${digest}`;
}

/** Update-all mode only (Copa §2.8): warn about an end-of-life OS release; fatal with --exit-on-eol. */
async function endOfLife(
  os: { type: string; version: string },
  opts: ResolvedPatchOptions,
  logger: Logger,
  signal: AbortSignal,
) {
  if (opts.eolApiUrl === '') {
    logger.debug('end-of-life check off (--eol-api-url off)');
    if (opts.exitOnEol) logger.warn('--exit-on-eol has no effect: the end-of-life check is off');
    return;
  }
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
