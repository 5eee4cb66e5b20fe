import type { Logger } from '../log.js';
import type { Image } from '../oci/image.js';
import { selectManifest } from '../oci/platform.js';
import { formatReference, parseReference, type ImageReference } from '../oci/reference.js';
import type { RegistryClient } from '../oci/registry/client.js';
import { fetchRemote } from '../oci/registry/remote.js';
import type { Platform } from '../oci/schemas.js';
import { LABEL_BASE_IMAGE } from './image.js';

/**
 * Re-patching (Copa §4.4): an image carrying the `BaseImage` label is a previous copa output. When its base can
 * be pulled and the image's first layers are exactly the base's, the new patch is built on the base and the old
 * patch layers are squashed into the new one: base layers + ONE layer. Otherwise the image is its own base.
 */
export type Lineage =
  | { kind: 'fresh' }
  | {
      kind: 'rebase';
      baseRef: string;
      keep: number;
      /** manifest digest of the base's platform image, and of what `baseRef` names (its index, or the same) */
      baseDigest: string;
      baseRefDigest: string;
    }
  | { kind: 'lost-base'; baseRef: string; reason: string };

export async function findLineage(
  client: RegistryClient,
  image: Image,
  platform: Platform,
  logger: Logger,
): Promise<Lineage> {
  const cfg = await image.config();
  const baseRef = cfg.config?.Labels?.[LABEL_BASE_IMAGE];
  if (!baseRef) return { kind: 'fresh' };
  const lost = (reason: string): Lineage => {
    logger.warn(
      `this image was patched before, but its base ${baseRef} ${reason}: patching it as a new base`,
    );
    return { kind: 'lost-base', baseRef, reason };
  };
  let base: Image;
  let baseRefDigest: string;
  try {
    const fetched = await fetchRemote(client, parseReference(baseRef));
    base =
      fetched.kind === 'image'
        ? fetched.image
        : await fetched.index.image(selectManifest(await fetched.index.index(), platform, baseRef));
    baseRefDigest = fetched.kind === 'image' ? await base.digest() : fetched.digest;
  } catch (e) {
    return lost(`cannot be pulled (${(e as Error).message})`);
  }
  const baseIds = (await base.config()).rootfs.diff_ids;
  const ids = cfg.rootfs.diff_ids;
  if (ids.length <= baseIds.length || baseIds.some((d, i) => ids[i] !== d)) {
    return lost('no longer matches its first layers');
  }
  logger.info(`Re-patching: squashing the previous patch into one layer on top of ${baseRef}`);
  return { kind: 'rebase', baseRef, keep: baseIds.length, baseDigest: await base.digest(), baseRefDigest };
}

/** The image a patched image is based on (OCI `org.opencontainers.image.base.*` annotations). */
export interface BaseImage {
  /** fully qualified reference */
  name: string;
  /** manifest digest of the platform image */
  digest: string;
  /** digest of what `name` resolves to (an index, or the image itself) */
  refDigest?: string | undefined;
}

/**
 * The spec's "base image" is the one sharing the patched image's first layers: the source image as given, or,
 * when re-patching squashes an earlier patch, the ORIGINAL base the new layer is built on (never the previous
 * patched image, whose patch layer is dropped). A lost base makes the source its own base, as for BaseImage.
 */
export async function baseImageOf(
  lineage: Lineage,
  source: ImageReference,
  image: Image,
): Promise<BaseImage> {
  if (lineage.kind === 'rebase') {
    return {
      name: formatReference(parseReference(lineage.baseRef)),
      digest: lineage.baseDigest,
      refDigest: lineage.baseRefDigest,
    };
  }
  return { name: formatReference(source), digest: await image.digest() };
}

/**
 * The index's base: the source index as given, or, when its platforms were re-patched onto their original
 * base, that base's reference and the digest it resolves to.
 */
export function indexBase(
  source: string,
  sourceDigest: string,
  bases: Array<BaseImage | undefined>,
): { name: string; digest: string } {
  const rebased = bases.find((b) => b?.refDigest !== undefined);
  return rebased?.refDigest
    ? { name: rebased.name, digest: rebased.refDigest }
    : { name: source, digest: sourceDigest };
}
