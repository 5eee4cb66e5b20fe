import type { Logger } from '../log.js';
import type { Image } from '../oci/image.js';
import { selectManifest } from '../oci/platform.js';
import { parseReference } from '../oci/reference.js';
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
  | { kind: 'rebase'; baseRef: string; keep: number }
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
  try {
    const fetched = await fetchRemote(client, parseReference(baseRef));
    base =
      fetched.kind === 'image'
        ? fetched.image
        : await fetched.index.image(selectManifest(await fetched.index.index(), platform, baseRef));
  } catch (e) {
    return lost(`cannot be pulled (${(e as Error).message})`);
  }
  const baseIds = (await base.config()).rootfs.diff_ids;
  const ids = cfg.rootfs.diff_ids;
  if (ids.length <= baseIds.length || baseIds.some((d, i) => ids[i] !== d)) {
    return lost('no longer matches its first layers');
  }
  logger.info(`Re-patching: squashing the previous patch into one layer on top of ${baseRef}`);
  return { kind: 'rebase', baseRef, keep: baseIds.length };
}
