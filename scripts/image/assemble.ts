/**
 * The copa image from its built layers, with copa's own OCI code: an OCI manifest + config (Entrypoint
 * ["copa"], org.opencontainers.image.* labels and annotations), written as an OCI layout, a docker-archive
 * (what `docker load` reads) and/or pushed to a registry.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { writeDockerArchive } from '../../src/oci/archive/index.js';
import { sha256 } from '../../src/oci/digest.js';
import { fileLayer } from '../../src/oci/filelayer.js';
import type { Image } from '../../src/oci/image.js';
import { writeOciLayout } from '../../src/oci/layout/index.js';
import { MediaType } from '../../src/oci/mediatypes.js';
import { parseReference } from '../../src/oci/reference.js';
import { pushImage } from '../../src/oci/registry/push.js';
import { ImageConfigSchema, ManifestSchema, parseJson } from '../../src/oci/schemas.js';
import { newRegistryClient } from '../../src/patch/client.js';
import type { Logger } from '../../src/log.js';
import type { BuiltLayer } from './layer.js';

export const CACHE_VOLUME = '/var/cache/copa';

export interface ImageMeta {
  version: string;
  /** git commit of the build, if known */
  revision?: string;
  /** seconds since the epoch: config.created and the history entries */
  epoch: number;
  arch: string;
}

/** An Image over layer files on disk (pure JSON assembly; blobs are read when written out). */
export function assembleImage(layers: BuiltLayer[], meta: ImageMeta): Image {
  const created = new Date(meta.epoch * 1000).toISOString().replace(/\.000Z$/, 'Z');
  const labels: Record<string, string> = {
    'org.opencontainers.image.title': 'copa',
    'org.opencontainers.image.description':
      'Patch vulnerable OS packages in container images without rebuilding them (Copa-compatible CLI)',
    'org.opencontainers.image.version': meta.version,
    'org.opencontainers.image.licenses': 'Apache-2.0',
    'org.opencontainers.image.created': created,
    ...(meta.revision ? { 'org.opencontainers.image.revision': meta.revision } : {}),
  };
  const config = {
    created,
    architecture: meta.arch,
    os: 'linux',
    config: {
      Entrypoint: ['copa'],
      Cmd: ['--help'],
      Env: [
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        `COPA_CACHE_DIR=${CACHE_VOLUME}`,
      ],
      WorkingDir: '/work',
      Volumes: { [CACHE_VOLUME]: {} },
      Labels: labels,
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffID) },
    history: layers.map((l) => ({ created, created_by: l.createdBy })),
  };
  const rawConfig = Buffer.from(JSON.stringify(config));
  const fileLayers = layers.map((l) =>
    fileLayer({
      path: l.path,
      digest: l.digest,
      diffID: l.diffID,
      size: l.size,
      mediaType: MediaType.OciLayerGzip,
    }),
  );
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: sha256(rawConfig), size: rawConfig.length },
    layers: fileLayers.map((l) => l.descriptor),
    annotations: labels,
  };
  const rawManifest = Buffer.from(JSON.stringify(manifest));
  return {
    mediaType: MediaType.OciManifest,
    rawManifest: () => Promise.resolve(rawManifest),
    manifest: () => Promise.resolve(parseJson(ManifestSchema, rawManifest, 'image manifest')),
    digest: () => Promise.resolve(sha256(rawManifest)),
    rawConfig: () => Promise.resolve(rawConfig),
    config: () => Promise.resolve(parseJson(ImageConfigSchema, rawConfig, 'image config')),
    layers: () => Promise.resolve(fileLayers),
  };
}

/** docker-archive at `file`, written beside it and renamed into place. */
export async function writeArchiveFile(file: string, image: Image, tag: string): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.tmp-${randomBytes(4).toString('hex')}`);
  try {
    await writeDockerArchive(createWriteStream(tmp), image, [tag]);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export async function writeLayout(dir: string, image: Image, refName: string): Promise<void> {
  await writeOciLayout(dir, [{ image, refName }]);
}

export async function push(ref: string, image: Image, logger: Logger): Promise<string> {
  const client = newRegistryClient({ insecureRegistries: [] }, logger);
  const { digest } = await pushImage(client, image, parseReference(ref), { logger });
  return digest;
}
