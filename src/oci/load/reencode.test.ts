import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decompress } from '../../layers/decompress.js';
import { sha256 } from '../digest.js';
import { fileLayer } from '../filelayer.js';
import type { Image, Layer } from '../image.js';
import { MediaType } from '../mediatypes.js';
import { ImageConfigSchema, ManifestSchema, parseJson } from '../schemas.js';
import { exportCompression, layerCompression, reencodeImage } from './reencode.js';

let dir: string;
let image: Image;
const plainA = Buffer.from('layer A: uncompressed bytes stand in for a tar\n'.repeat(400));
const plainB = Buffer.from('layer B: stored uncompressed\n'.repeat(300));

async function layerFile(name: string, bytes: Buffer, diff: Buffer, mediaType: string): Promise<Layer> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return fileLayer({ path, digest: sha256(bytes), diffID: sha256(diff), size: bytes.length, mediaType });
}

async function bytesOf(layer: Layer): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await layer.compressed()) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function uncompressed(layer: Layer): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of decompress(await layer.compressed())) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'copa-reencode-'));
  const a = await layerFile('a.gz', gzipSync(plainA), plainA, MediaType.OciLayerGzip);
  const b = await layerFile('b.tar', plainB, plainB, MediaType.OciLayer);
  const rawConfig = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [a.diffID, b.diffID] },
    }),
  );
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: sha256(rawConfig), size: rawConfig.length },
    layers: [
      { ...a.descriptor, annotations: { keep: 'me', 'containerd.io/snapshot/stargz/toc.digest': 'x' } },
      b.descriptor,
    ],
  };
  const rawManifest = Buffer.from(JSON.stringify(manifest));
  image = {
    mediaType: MediaType.OciManifest,
    rawManifest: () => Promise.resolve(rawManifest),
    manifest: () => Promise.resolve(parseJson(ManifestSchema, rawManifest, 'm')),
    digest: () => Promise.resolve(sha256(rawManifest)),
    rawConfig: () => Promise.resolve(rawConfig),
    config: () => Promise.resolve(parseJson(ImageConfigSchema, rawConfig, 'c')),
    layers: () => Promise.resolve([{ ...a, descriptor: manifest.layers[0]! }, b]),
  };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('re-encoding layers for a local export', () => {
  it('maps media types and --compression values', () => {
    expect(layerCompression(MediaType.DockerLayerGzip)).toBe('gzip');
    expect(layerCompression(MediaType.OciLayerZstd)).toBe('zstd');
    expect(layerCompression(MediaType.OciLayer)).toBe('none');
    expect(layerCompression('application/vnd.example.layer')).toBeUndefined();
    expect(exportCompression('uncompressed')).toBe('none');
    expect(() => exportCompression('estargz')).toThrow(/estargz is not supported yet/);
  });

  it('the last layer, uncompressed, known size: streamed on the fly, nothing spooled, digest = diffID', async () => {
    const spoolDir = await mkdtemp(join(dir, 'spool-'));
    const last = (await image.layers())[1]!;
    const same = await reencodeImage(image, { compression: 'uncompressed', layers: 'last', spoolDir });
    expect(same).toBe(image); // already uncompressed
    const gz = await reencodeImage(image, { compression: 'gzip', layers: 'last', spoolDir });
    const [a2, b2] = await gz.layers();
    expect(a2!.digest).toBe((await image.layers())[0]!.digest);
    expect(b2!.mediaType).toBe(MediaType.OciLayerGzip);
    expect(b2!.diffID).toBe(last.diffID);
    expect(await uncompressed(b2!)).toEqual(plainB);
    expect(await readdir(spoolDir)).toHaveLength(1);
    const back = await reencodeImage(gz, {
      compression: 'uncompressed',
      layers: 'last',
      spoolDir,
      uncompressedSizes: new Map([[last.diffID, plainB.length]]),
    });
    const b3 = (await back.layers())[1]!;
    expect([b3.digest, b3.size]).toEqual([last.diffID, plainB.length]);
    expect(await bytesOf(b3)).toEqual(plainB);
    expect(await readdir(spoolDir)).toHaveLength(1); // streamed, not spooled
  });

  it.each(['gzip', 'zstd', 'uncompressed'] as const)(
    'every layer as %s: same config and diffIDs, new manifest',
    async (compression) => {
      const spoolDir = await mkdtemp(join(dir, 'spool-'));
      const out = await reencodeImage(image, { compression, layers: 'all', spoolDir });
      const layers = await out.layers();
      const manifest = await out.manifest();
      expect(await out.rawConfig()).toEqual(await image.rawConfig());
      expect(layers.map((l) => l.diffID)).toEqual((await image.config()).rootfs.diff_ids);
      expect(manifest.layers.map((l) => [l.digest, l.size])).toEqual(layers.map((l) => [l.digest, l.size]));
      expect(await out.digest()).toBe(sha256(await out.rawManifest()));
      expect(await uncompressed(layers[0]!)).toEqual(plainA);
      expect(await uncompressed(layers[1]!)).toEqual(plainB);
      for (const l of layers) expect(sha256(await bytesOf(l))).toBe(l.digest);
      // annotations about the old encoding are dropped, others kept
      expect(manifest.layers[0]!.annotations ?? {}).toEqual(
        compression === 'gzip'
          ? { keep: 'me', 'containerd.io/snapshot/stargz/toc.digest': 'x' }
          : { keep: 'me' },
      );
    },
  );

  it('a layer whose bytes do not match its diffID fails the re-encoding and leaves no spool file', async () => {
    const spoolDir = await mkdtemp(join(dir, 'spool-'));
    const wrong = await layerFile('wrong.gz', gzipSync(plainA), plainB, MediaType.OciLayerGzip);
    const img: Image = { ...image, layers: () => Promise.resolve([wrong]) };
    await expect(
      reencodeImage(img, { compression: 'uncompressed', layers: 'all', spoolDir }),
    ).rejects.toThrow(/does not match its digest/);
    expect(await readdir(spoolDir)).toEqual([]);
  });
});
