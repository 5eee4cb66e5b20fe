import { CopaError } from '../../errors.js';
import { sha256 } from '../digest.js';
import { fileLayer } from '../filelayer.js';
import type { Image, ImageIndex, Layer } from '../image.js';
import { isIndexMediaType } from '../mediatypes.js';
import {
  ImageConfigSchema,
  IndexSchema,
  ManifestSchema,
  parseJson,
  type Descriptor,
  type ImageConfig,
  type Index,
} from '../schemas.js';
import { blobPath, readJsonBlob, readLayoutIndex, REF_NAME } from './common.js';

/**
 * Open an image or image index of an OCI layout directory: the index.json entry whose
 * `org.opencontainers.image.ref.name` is `refName`, or the only entry when no name is given.
 */
export async function readOciLayout(dir: string, refName?: string): Promise<Image | ImageIndex> {
  const index = await readLayoutIndex(dir);
  const desc = pickEntry(dir, index, refName);
  return isIndexMediaType(desc.mediaType) ? layoutIndex(dir, desc) : layoutImage(dir, desc);
}

function pickEntry(dir: string, index: Index, refName: string | undefined): Descriptor {
  const names = index.manifests
    .map((d) => d.annotations?.[REF_NAME])
    .filter((n): n is string => n !== undefined);
  const listed = names.length > 0 ? names.join(', ') : 'none';
  if (refName === undefined) {
    const [only] = index.manifests;
    if (only && index.manifests.length === 1) return only;
    throw new CopaError(
      'USAGE',
      `${dir} holds ${index.manifests.length} images; say which one (ref names: ${listed})`,
      {
        hint: `add :NAME after the directory, e.g. ${dir}:${names[0] ?? 'latest'}`,
      },
    );
  }
  const found = index.manifests.find((d) => d.annotations?.[REF_NAME] === refName);
  if (!found) {
    throw new CopaError(
      'NOT_FOUND',
      `no image named ${JSON.stringify(refName)} in ${dir} (ref names: ${listed})`,
      {
        hint: 'use one of the listed names',
      },
    );
  }
  return found;
}

/** An Image backed by the blobs of a layout directory (every byte verified when read). */
export async function layoutImage(dir: string, desc: Descriptor): Promise<Image> {
  if (isIndexMediaType(desc.mediaType)) {
    throw new CopaError(
      'REGISTRY',
      `${desc.digest} in ${dir} is an image index where an image manifest was expected`,
    );
  }
  const rawManifest = await readJsonBlob(dir, desc, 'manifest');
  const manifest = parseJson(ManifestSchema, rawManifest, `manifest ${desc.digest}`);
  let rawConfig: Promise<Buffer> | undefined;
  let config: Promise<ImageConfig> | undefined;
  const getRawConfig = (): Promise<Buffer> =>
    (rawConfig ??= readJsonBlob(dir, manifest.config, 'image config'));
  const getConfig = (): Promise<ImageConfig> =>
    (config ??= getRawConfig().then((b) =>
      parseJson(ImageConfigSchema, b, `image config ${manifest.config.digest}`),
    ));
  return {
    mediaType: manifest.mediaType ?? desc.mediaType,
    rawManifest: () => Promise.resolve(rawManifest),
    manifest: () => Promise.resolve(manifest),
    digest: () => Promise.resolve(desc.digest),
    rawConfig: getRawConfig,
    config: getConfig,
    async layers(): Promise<Layer[]> {
      const diffIDs = (await getConfig()).rootfs.diff_ids;
      if (diffIDs.length !== manifest.layers.length) {
        throw new CopaError(
          'REGISTRY',
          `image ${desc.digest} in ${dir}: config lists ${diffIDs.length} diff_ids but the manifest has ${manifest.layers.length} layers`,
          { hint: 'the image is inconsistent; rebuild or copy it again' },
        );
      }
      return manifest.layers.map((d, i) =>
        fileLayer({
          path: blobPath(dir, d.digest),
          digest: d.digest,
          diffID: diffIDs[i] ?? '',
          size: d.size,
          mediaType: d.mediaType,
          descriptor: d,
        }),
      );
    },
  };
}

async function layoutIndex(dir: string, desc: Descriptor): Promise<ImageIndex> {
  const raw = await readJsonBlob(dir, desc, 'image index');
  const index = parseJson(IndexSchema, raw, `image index ${desc.digest}`);
  return {
    mediaType: index.mediaType ?? desc.mediaType,
    rawManifest: () => Promise.resolve(raw),
    index: () => Promise.resolve(index),
    digest: () => Promise.resolve(sha256(raw)),
    image: (child: Descriptor) => layoutImage(dir, child),
  };
}
