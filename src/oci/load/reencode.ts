import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Duplex, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { CopaError, withContext } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import { decompress, nativeZstd } from '../../layers/decompress.js';
import { digestHex, DigestStream, sha256 } from '../digest.js';
import { fileLayer } from '../filelayer.js';
import type { Image, Layer } from '../image.js';
import { isDockerMediaType, layerMediaType, MediaType, type LayerCompression } from '../mediatypes.js';
import { ImageConfigSchema, ManifestSchema, parseJson, type Descriptor, type Manifest } from '../schemas.js';
import { findExecutable } from './podman.js';

/** Layer compressions a local export can ask for (Copa's --compression values). */
export type ExportCompression = 'uncompressed' | 'gzip' | 'zstd' | 'estargz';

export interface ReencodeOptions {
  compression: ExportCompression;
  /** which layers: the last one (the patch layer) or every layer (--force-compression) */
  layers: 'last' | 'all';
  /** scratch directory for re-encoded blobs (their size must be known before they are archived) */
  spoolDir: string;
  /** uncompressed sizes known in advance (diffID -> bytes): such layers are decompressed on the fly */
  uncompressedSizes?: ReadonlyMap<string, number>;
  logger?: Logger;
  signal?: AbortSignal;
}

const BY_MEDIA_TYPE: Record<string, LayerCompression> = {
  [MediaType.OciLayer]: 'none',
  'application/vnd.docker.image.rootfs.diff.tar': 'none',
  [MediaType.OciLayerGzip]: 'gzip',
  [MediaType.DockerLayerGzip]: 'gzip',
  [MediaType.OciLayerNondistributableGzip]: 'gzip',
  [MediaType.DockerLayerForeignGzip]: 'gzip',
  [MediaType.OciLayerZstd]: 'zstd',
};

/** A layer's compression from its media type, undefined when the type does not say. */
export function layerCompression(mediaType: string): LayerCompression | undefined {
  return BY_MEDIA_TYPE[mediaType];
}

/** --compression value -> layer compression; estargz is refused (no eStargz writer yet). */
export function exportCompression(c: ExportCompression): LayerCompression {
  if (c === 'estargz') {
    throw new CopaError('USAGE', '--compression estargz is not supported yet', {
      hint: 'use --compression uncompressed, gzip or zstd',
    });
  }
  return c === 'uncompressed' ? 'none' : c;
}

/** A process's stdin/stdout as one Transform-like stream; a non-zero exit fails it. */
function processStream(cmd: string, args: string[]): Duplex {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const duplex = Duplex.from({ writable: child.stdin, readable: child.stdout });
  child.on('close', (code) => {
    if (code !== 0)
      duplex.destroy(new CopaError('ENVIRONMENT', `${cmd} failed (exit ${code}): ${stderr.trim()}`));
  });
  child.on('error', (e) => duplex.destroy(e));
  duplex.on('close', () => {
    if (child.exitCode === null) child.kill();
  });
  return duplex;
}

async function compressor(c: LayerCompression): Promise<Array<Transform | Duplex>> {
  if (c === 'none') return [];
  if (c === 'gzip') return [zlib.createGzip({ level: 6 })];
  const native = nativeZstd();
  if (native) return [native.createZstdCompress()];
  // Node < 22.15 has no zstd encoder: the zstd program does it
  const zstd = await findExecutable('zstd');
  if (!zstd) {
    throw new CopaError('ENVIRONMENT', 'zstd compression needs Node.js 22.15 or newer, or the zstd program', {
      hint: 'install zstd (apt-get install zstd), or use --compression gzip or uncompressed',
    });
  }
  return [processStream(zstd, ['-q', '-c', '-3'])];
}

function descriptorFor(layer: Layer, mediaType: string, digest: string, size: number): Descriptor {
  const { annotations, ...rest } = layer.descriptor;
  // annotations about the old blob's encoding (e.g. eStargz TOC digests) would now be wrong
  const kept = Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => !k.includes('stargz')));
  return {
    ...rest,
    mediaType,
    digest,
    size,
    ...(Object.keys(kept).length > 0 ? { annotations: kept } : {}),
  };
}

/** The uncompressed tar of `layer`, decompressed while it is read (its size is known in advance). */
function streamedTar(layer: Layer, size: number, mediaType: string): Layer {
  return {
    digest: layer.diffID,
    diffID: layer.diffID,
    size,
    mediaType,
    descriptor: descriptorFor(layer, mediaType, layer.diffID, size),
    compressed: async () => decompress(await layer.compressed()),
  };
}

/** Re-encode `layer` into a file under `dir` (decompress -> verify diffID -> compress -> file). */
async function spooledLayer(
  layer: Layer,
  target: LayerCompression,
  mediaType: string,
  dir: string,
  signal?: AbortSignal,
): Promise<Layer> {
  const path = join(dir, `reencoded-${digestHex(layer.diffID)}-${target}`);
  const diff = new DigestStream({ digest: layer.diffID, what: `uncompressed layer ${layer.diffID}` });
  const blob = new DigestStream();
  try {
    const stages = await compressor(target);
    await pipeline(
      [decompress(await layer.compressed()), diff, ...stages, blob, createWriteStream(path)],
      signal ? { signal } : {},
    );
  } catch (e) {
    await rm(path, { force: true });
    throw withContext(e, `re-encoding layer ${layer.digest}`);
  }
  const digest = blob.digest();
  return fileLayer({
    path,
    digest,
    diffID: layer.diffID,
    size: blob.bytes,
    mediaType,
    descriptor: descriptorFor(layer, mediaType, digest, blob.bytes),
  });
}

/** An in-memory image: `base`'s config, a manifest listing `layers` (compact JSON). */
function withLayers(base: Image, manifest: Manifest, rawConfig: Buffer, layers: Layer[]): Image {
  const next = { ...manifest, layers: layers.map((l) => l.descriptor) };
  const rawManifest = Buffer.from(JSON.stringify(next));
  const parsed = parseJson(ManifestSchema, rawManifest, 're-encoded image manifest');
  const config = parseJson(ImageConfigSchema, rawConfig, 'image config');
  const digest = sha256(rawManifest);
  return {
    mediaType: base.mediaType,
    source: base.source,
    rawManifest: () => Promise.resolve(rawManifest),
    manifest: () => Promise.resolve(parsed),
    digest: () => Promise.resolve(digest),
    rawConfig: () => Promise.resolve(rawConfig),
    config: () => Promise.resolve(config),
    layers: () => Promise.resolve(layers),
  };
}

/**
 * The same image (same config, same diffIDs) with the last layer, or every layer, stored in `compression`.
 * Layers already in that compression are kept as they are. An uncompressed layer whose size is known is
 * decompressed while it is read; any other re-encoded layer is written once to `spoolDir` (streaming),
 * because an archive entry needs its size up front.
 */
export async function reencodeImage(image: Image, opts: ReencodeOptions): Promise<Image> {
  const target = exportCompression(opts.compression);
  const logger = opts.logger ?? silentLogger;
  const layers = await image.layers();
  const family = isDockerMediaType(image.mediaType) ? 'docker' : 'oci';
  const mediaType = layerMediaType(family, target);
  const first = opts.layers === 'all' ? 0 : layers.length - 1;
  let changed = false;
  const out: Layer[] = [];
  for (const [i, layer] of layers.entries()) {
    if (i < first || layerCompression(layer.mediaType) === target) {
      out.push(layer);
      continue;
    }
    opts.signal?.throwIfAborted();
    changed = true;
    const known = opts.uncompressedSizes?.get(layer.diffID);
    if (target === 'none' && known !== undefined) {
      out.push(streamedTar(layer, known, mediaType));
      continue;
    }
    logger.debug(`re-encoding layer ${layer.digest} as ${opts.compression}`);
    out.push(await spooledLayer(layer, target, mediaType, opts.spoolDir, opts.signal));
  }
  if (!changed) return image;
  return withLayers(image, await image.manifest(), await image.rawConfig(), out);
}
