import { join } from 'node:path';
import type { Image } from '../oci/image.js';
import { fileLayer } from '../oci/filelayer.js';
import { isDockerMediaType, layerMediaType } from '../oci/mediatypes.js';
import { appendLayer, replaceLayers } from '../oci/mutate.js';
import type { ImageRoot } from '../engine/types.js';
import type { Logger } from '../log.js';

export const ANNOTATION_PATCHED = 'sh.copa.image.patched';
export const ANNOTATION_CREATED = 'org.opencontainers.image.created';
export const ANNOTATION_VERSION = 'org.opencontainers.image.version';
export const LABEL_BASE_IMAGE = 'BaseImage';
/** OCI image-spec annotations.md: the image this one is based on (lineage) */
export const ANNOTATION_BASE_NAME = 'org.opencontainers.image.base.name';
export const ANNOTATION_BASE_DIGEST = 'org.opencontainers.image.base.digest';

export const lineageAnnotations = (base: { name: string; digest: string }): Record<string, string> => ({
  [ANNOTATION_BASE_NAME]: base.name,
  [ANNOTATION_BASE_DIGEST]: base.digest,
});

/** `now` as RFC 3339 UTC without fractions, or SOURCE_DATE_EPOCH when set (reproducible builds). */
export function timestamp(): string {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const d = epoch && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000) : new Date();
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Copa's version-annotation rule: the patched tag if it contains the old version, else `<old>-<tag>`. */
export function patchedVersion(old: string, tag: string): string {
  return tag.includes(old) ? tag : `${old}-${tag}`;
}

function isExcluded(rel: string, excluded: string[]): boolean {
  const p = '/' + rel.replace(/^\/+/, '').replace(/\/+$/, '');
  return excluded.some((e) => p === e || p.startsWith(e + '/'));
}

export async function buildPatchedImage(
  base: Image,
  root: ImageRoot,
  excluded: string[],
  opts: {
    workDir: string;
    baseImage: string;
    keepLayers: number;
    targetTag: string;
    annotations?: Record<string, string>;
    /** lineage annotations: fully qualified reference and manifest digest of the base image */
    base?: { name: string; digest: string };
    logger?: Logger;
    /** uncompressed bytes of the new layer written so far */
    onBytes?: (written: number) => void;
  },
) {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const written = await root.writeLayer(join(opts.workDir, 'layer.tar.gz'), {
    compression: 'gzip',
    ...(epoch && /^\d+$/.test(epoch) ? { sourceDateEpoch: Number(epoch) } : {}),
    exclude: (rel) => isExcluded(rel, excluded),
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.onBytes ? { onBytes: opts.onBytes } : {}),
  });
  const family = isDockerMediaType(base.mediaType) ? 'docker' : 'oci';
  const mediaType = layerMediaType(family, 'gzip');
  const layer = fileLayer({
    path: written.path,
    digest: written.digest,
    diffID: written.diffID,
    size: written.size,
    mediaType,
  });
  const created = timestamp();
  const manifest = await base.manifest();
  const annotations: Record<string, string> = {
    ...opts.annotations,
    [ANNOTATION_CREATED]: created,
    [ANNOTATION_PATCHED]: created,
    ...(opts.base ? lineageAnnotations(opts.base) : {}),
  };
  const oldVersion = manifest.annotations?.[ANNOTATION_VERSION];
  if (oldVersion) annotations[ANNOTATION_VERSION] = patchedVersion(oldVersion, opts.targetTag);
  const mutation = {
    history: { created, created_by: 'copa patch', comment: 'package updates applied by copa' },
    labels: { [LABEL_BASE_IMAGE]: opts.baseImage },
    annotations,
    created,
  };
  const count = (await base.layers()).length;
  const image =
    opts.keepLayers < count
      ? await replaceLayers(base, opts.keepLayers, layer, mutation)
      : await appendLayer(base, layer, mutation);
  return {
    image,
    layer: {
      digest: written.digest,
      diffID: written.diffID,
      size: written.size,
      uncompressedSize: written.uncompressedSize,
      mediaType,
    },
  };
}
