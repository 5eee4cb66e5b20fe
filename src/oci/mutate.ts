import { CopaError } from '../errors.js';
import { assertDigest, sha256 } from './digest.js';
import type { Image, ImageIndex, Layer } from './image.js';
import { isDockerMediaType, layerMediaType, MediaType, type LayerCompression } from './mediatypes.js';
import {
  ImageConfigSchema,
  IndexSchema,
  ManifestSchema,
  parseJson,
  type Descriptor,
  type History,
  type ImageConfig,
  type Index,
  type Manifest,
} from './schemas.js';

export interface AppendOptions {
  /** the history entry describing the new layer (added only when the base config has a history) */
  history: History;
  /** merged into config.Labels */
  labels?: Record<string, string>;
  /** merged into the manifest's annotations (OCI manifests only: Docker schema2 has none) */
  annotations?: Record<string, string>;
  /** RFC 3339 time for config.created (and the history entry when it has none); unchanged when absent */
  created?: string;
}

type Family = 'oci' | 'docker';

const FAMILY_TYPES: Record<Family, { manifest: string; config: string }> = {
  oci: { manifest: MediaType.OciManifest, config: MediaType.OciConfig },
  docker: { manifest: MediaType.DockerManifest, config: MediaType.DockerConfig },
};

/** Standard layer types that exist in both families; anything else keeps its media type. */
const LAYER_COMPRESSION: Record<string, LayerCompression> = {
  [MediaType.OciLayer]: 'none',
  [MediaType.OciLayerGzip]: 'gzip',
  [MediaType.OciLayerZstd]: 'zstd',
  [MediaType.DockerLayerGzip]: 'gzip',
};

/**
 * A new image = `base` + `layer`: config with the layer's diffID, the history entry, labels and
 * `created`; manifest in the base's media-type family. Base layers keep their existing descriptors.
 */
export function appendLayer(base: Image, layer: Layer, opts: AppendOptions): Promise<Image> {
  return derive(base, undefined, layer, opts);
}

/**
 * Like appendLayer, but first keep only the first `keep` layers of `base` (with their diff_ids and
 * non-empty history entries; empty-layer history entries stay) — used when re-patching.
 */
export function replaceLayers(base: Image, keep: number, layer: Layer, opts: AppendOptions): Promise<Image> {
  return derive(base, keep, layer, opts);
}

function familyOf(mediaType: string): Family {
  return isDockerMediaType(mediaType) ? 'docker' : 'oci';
}

/** Foreign (non-distributable) layer types of each family. */
const FOREIGN: Record<Family, string> = {
  oci: MediaType.OciLayerNondistributableGzip,
  docker: MediaType.DockerLayerForeignGzip,
};

function layerTypeForFamily(mediaType: string, family: Family): string {
  const compression = LAYER_COMPRESSION[mediaType];
  if (compression !== undefined) return layerMediaType(family, compression);
  if (mediaType === FOREIGN.oci || mediaType === FOREIGN.docker) return FOREIGN[family];
  return mediaType;
}

/** The layer as it will appear in a manifest of `family` (gzip/tar types renamed, nothing re-read). */
function layerForFamily(layer: Layer, family: Family): Layer {
  const mediaType = layerTypeForFamily(layer.mediaType, family);
  const { annotations, ...rest } = layer.descriptor;
  const descriptor: Descriptor = {
    ...rest,
    mediaType,
    digest: layer.digest,
    size: layer.size,
    ...(family === 'oci' && annotations ? { annotations } : {}),
  };
  return {
    digest: layer.digest,
    diffID: layer.diffID,
    size: layer.size,
    mediaType,
    descriptor,
    compressed: () => layer.compressed(),
  };
}

/** History without the non-empty entries beyond the first `keep` layers. */
function keepHistory(history: History[], keep: number): History[] {
  let seen = 0;
  return history.filter((h) => {
    if (h.empty_layer === true) return true;
    seen += 1;
    return seen <= keep;
  });
}

async function derive(
  base: Image,
  keepArg: number | undefined,
  added: Layer,
  opts: AppendOptions,
): Promise<Image> {
  assertDigest(added.diffID, 'diffID of the new layer');
  assertDigest(added.digest, 'digest of the new layer');
  // validate through the schemas, then work on the raw JSON so key order and unknown fields survive
  await base.manifest();
  await base.config();
  const manifest = JSON.parse((await base.rawManifest()).toString('utf8')) as Manifest;
  const config = JSON.parse((await base.rawConfig()).toString('utf8')) as ImageConfig;
  const baseLayers = await base.layers();
  const diffIDs = config.rootfs.diff_ids;
  if (diffIDs.length !== manifest.layers.length || baseLayers.length !== manifest.layers.length) {
    throw new CopaError(
      'REGISTRY',
      `image config lists ${diffIDs.length} diff_ids but the manifest has ${manifest.layers.length} layers`,
      { hint: 'the source image is inconsistent; rebuild or re-push it' },
    );
  }
  const keep = keepArg ?? manifest.layers.length;
  if (!Number.isInteger(keep) || keep < 0 || keep > manifest.layers.length) {
    throw new CopaError('INTERNAL', `cannot keep ${keep} of ${manifest.layers.length} layers`);
  }

  const family = familyOf(base.mediaType);
  const types = FAMILY_TYPES[family];
  const layer = layerForFamily(added, family);

  // config
  config.rootfs.diff_ids = [...diffIDs.slice(0, keep), layer.diffID];
  if (Array.isArray(config.history)) {
    const entry: History =
      opts.created !== undefined && opts.history.created === undefined
        ? { created: opts.created, ...opts.history }
        : { ...opts.history };
    config.history = [...keepHistory(config.history, keep), entry];
  }
  if (opts.labels && Object.keys(opts.labels).length > 0) {
    const inner = config.config ?? {};
    inner.Labels = { ...(inner.Labels ?? {}), ...opts.labels };
    config.config = inner;
  }
  if (opts.created !== undefined) config.created = opts.created;
  const rawConfig = Buffer.from(JSON.stringify(config));

  // manifest
  manifest.mediaType = types.manifest;
  manifest.config = {
    ...manifest.config,
    mediaType: types.config,
    digest: sha256(rawConfig),
    size: rawConfig.length,
  };
  manifest.layers = [...manifest.layers.slice(0, keep), layer.descriptor];
  if (family === 'oci' && opts.annotations && Object.keys(opts.annotations).length > 0) {
    manifest.annotations = { ...(manifest.annotations ?? {}), ...opts.annotations };
  }
  return memoImage(types.manifest, manifest, rawConfig, [...baseLayers.slice(0, keep), layer], base.source);
}

/** An in-memory Image over serialised JSON (compact, key order as built: deterministic). */
function memoImage(
  mediaType: string,
  manifest: Manifest,
  rawConfig: Buffer,
  layers: Layer[],
  source: Image['source'],
): Image {
  const parsedConfig = parseJson(ImageConfigSchema, rawConfig, 'new image config');
  const rawManifest = Buffer.from(JSON.stringify(manifest));
  const parsedManifest = parseJson(ManifestSchema, rawManifest, 'new image manifest');
  const digest = sha256(rawManifest);
  return {
    mediaType,
    source,
    rawManifest: () => Promise.resolve(rawManifest),
    manifest: () => Promise.resolve(parsedManifest),
    digest: () => Promise.resolve(digest),
    rawConfig: () => Promise.resolve(rawConfig),
    config: () => Promise.resolve(parsedConfig),
    layers: () => Promise.resolve(layers),
  };
}

/**
 * The same image with OCI media types (what Copa's OCI exporter writes): a Docker schema2 manifest
 * becomes an OCI manifest over the same config bytes and the same layer blobs (only media types
 * renamed, so the manifest digest changes). An OCI image is returned as it is.
 */
export async function toOciImage(image: Image): Promise<Image> {
  if (familyOf(image.mediaType) === 'oci') return image;
  await image.manifest();
  const manifest = JSON.parse((await image.rawManifest()).toString('utf8')) as Manifest;
  const layers = (await image.layers()).map((l) => layerForFamily(l, 'oci'));
  manifest.mediaType = MediaType.OciManifest;
  manifest.config = { ...manifest.config, mediaType: MediaType.OciConfig };
  manifest.layers = layers.map((l) => l.descriptor);
  return memoImage(MediaType.OciManifest, manifest, await image.rawConfig(), layers, image.source);
}

/**
 * The same index as an OCI image index (a Docker manifest list renamed); the child manifests are
 * referenced unchanged, byte for byte. An OCI index is returned as it is.
 */
export async function toOciIndex(index: ImageIndex): Promise<ImageIndex> {
  if (index.mediaType === MediaType.OciIndex) return index;
  await index.index();
  const raw = JSON.parse((await index.rawManifest()).toString('utf8')) as Index;
  raw.mediaType = MediaType.OciIndex;
  const rawIndex = Buffer.from(JSON.stringify(raw));
  const parsed = parseJson(IndexSchema, rawIndex, 'new image index');
  const digest = sha256(rawIndex);
  return {
    mediaType: MediaType.OciIndex,
    rawManifest: () => Promise.resolve(rawIndex),
    index: () => Promise.resolve(parsed),
    digest: () => Promise.resolve(digest),
    image: (desc) => index.image(desc),
  };
}
