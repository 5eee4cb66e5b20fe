import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { Image } from '../oci/image.js';
import { writeOciLayout } from '../oci/layout/write.js';
import {
  exportCompression,
  loadInto,
  reencodeImage,
  resolveLocalStore,
  type LocalStore,
} from '../oci/load/index.js';
import { familiarString, formatReference, type ImageReference } from '../oci/reference.js';
import type { RegistryClient } from '../oci/registry/client.js';
import { pushImage } from '../oci/registry/push.js';
import type { ResolvedPatchOptions } from './options.js';
import type { DeliverHook, Delivered, NewLayer } from './delivery.js';

/**
 * Before any work: with neither --push nor --oci-dir (nor a hook), find the local image store now, so that
 * a machine without docker or podman fails in a second, not after the patch. Also refuses unsupported
 * --compression values early.
 */
export async function prepareDelivery(
  opts: ResolvedPatchOptions,
  ctx: { hook?: DeliverHook | undefined; logger: Logger },
): Promise<LocalStore | undefined> {
  if (ctx.hook || opts.push || opts.ociDir || opts.dryRun) return undefined;
  exportCompression(opts.compression);
  const store = await resolveLocalStore({ loader: opts.loader, logger: ctx.logger });
  ctx.logger.debug(`local image store: ${store.loader}`);
  return store;
}

export interface DeliverContext {
  opts: ResolvedPatchOptions;
  client: RegistryClient;
  target: ImageReference;
  logger: Logger;
  signal?: AbortSignal;
  /** the run's scratch dir (re-encoded layers for a local load are spooled there) */
  workDir?: string;
  /** the new layer (its uncompressed size lets a local load stream it uncompressed) */
  layer?: NewLayer;
  /** from prepareDelivery; resolved here when absent */
  store?: LocalStore | undefined;
  hook?: DeliverHook | undefined;
  /** bytes pushed so far (registry pushes) */
  onBytes?: (uploaded: number) => void;
}

/**
 * Write the patched image where the user asked: OCI layout (--oci-dir) and/or registry (--push); with
 * neither, load it into docker or podman (--loader). --compression / --force-compression apply to the
 * local load only: the registry and the OCI layout get the same blobs (gzip), so a layout copied to a
 * registry later is byte-identical to a push.
 */
export async function deliver(image: Image, ctx: DeliverContext): Promise<Delivered> {
  const { opts, target, logger } = ctx;
  if (ctx.hook) {
    if (!ctx.layer) throw new Error('deliver: a hook needs the new layer');
    return ctx.hook(image, {
      layer: ctx.layer,
      target,
      logger,
      signal: ctx.signal ?? new AbortController().signal,
    });
  }
  let out: Delivered | undefined;
  if (opts.ociDir) {
    const refName = target.tag ?? 'latest';
    await writeOciLayout(opts.ociDir, [{ image, refName }], ctx.signal ? { signal: ctx.signal } : {});
    out = { kind: 'oci-layout', location: `${opts.ociDir}:${refName}`, digest: await image.digest() };
    logger.info(`Wrote OCI layout ${out.location}`);
  }
  if (opts.push) {
    const pushed = await pushImage(ctx.client, image, target, {
      ...(ctx.onBytes ? { onBytes: ctx.onBytes } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    out = { kind: 'registry', location: formatReference(target), digest: pushed.digest };
    logger.info(`Pushed ${out.location}@${pushed.digest}`);
  }
  return out ?? (await loadLocally(image, ctx));
}

async function loadLocally(image: Image, ctx: DeliverContext): Promise<Delivered> {
  const { opts, target, logger, signal } = ctx;
  const store = ctx.store ?? (await resolveLocalStore({ loader: opts.loader, logger }));
  const spoolDir = await mkdtemp(join(ctx.workDir ?? tmpdir(), 'load-'));
  try {
    const sizes = new Map<string, number>();
    if (ctx.layer) sizes.set(ctx.layer.diffID, ctx.layer.uncompressedSize);
    const local = await reencodeImage(image, {
      compression: opts.compression,
      layers: opts.forceCompression ? 'all' : 'last',
      spoolDir,
      uncompressedSizes: sizes,
      logger,
      ...(signal ? { signal } : {}),
    });
    const tag = familiarString(target);
    logger.info(`Loading ${tag} into ${store.loader}`);
    const loaded = await loadInto(store, local, formatReference(target), {
      logger,
      ...(signal ? { signal } : {}),
    });
    logger.info(`Loaded ${tag} into ${loaded.loader} (image ID ${loaded.id})`);
    return { kind: loaded.loader, location: tag, digest: await local.digest() };
  } finally {
    await rm(spoolDir, { recursive: true, force: true });
  }
}
