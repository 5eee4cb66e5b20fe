import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import { sha256 } from './digest.js';
import type { Image, ImageIndex, Layer } from './image.js';
import { MediaType } from './mediatypes.js';
import { appendLayer, replaceLayers, toOciImage, toOciIndex } from './mutate.js';
import { ImageConfigSchema, IndexSchema, ManifestSchema, parseJson, type History } from './schemas.js';

/** A gzip layer held in memory (test-only stand-in for a registry or file layer). */
function memoryLayer(content: string, mediaType: string, annotations?: Record<string, string>): Layer {
  const raw = Buffer.from(content);
  const gz = gzipSync(raw);
  const digest = sha256(gz);
  return {
    digest,
    diffID: sha256(raw),
    size: gz.length,
    mediaType,
    descriptor: { mediaType, digest, size: gz.length, ...(annotations ? { annotations } : {}) },
    compressed: () => Promise.resolve(Readable.from([gz])),
  };
}

interface BaseOpts {
  family: 'oci' | 'docker';
  contents: string[];
  history?: History[];
  labels?: Record<string, string> | null;
}

/** An Image built from buffers in the test; raw JSON deliberately has odd key orders and extra fields. */
function memoryImage(o: BaseOpts): Image {
  const layerType = o.family === 'oci' ? MediaType.OciLayerGzip : MediaType.DockerLayerGzip;
  const layers = o.contents.map((c, i) =>
    memoryLayer(c, layerType, o.family === 'oci' ? { z: `${i}`, a: 'x' } : undefined),
  );
  const config: Record<string, unknown> = {
    zzz_unknown: { keep: true },
    architecture: 'amd64',
    os: 'linux',
    created: '2020-01-01T00:00:00Z',
    config: { Env: ['PATH=/bin'], ...(o.labels !== undefined ? { Labels: o.labels } : {}) },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffID) },
    ...(o.history ? { history: o.history } : {}),
  };
  const rawConfig = Buffer.from(JSON.stringify(config));
  const manifest = {
    schemaVersion: 2,
    mediaType: o.family === 'oci' ? MediaType.OciManifest : MediaType.DockerManifest,
    config: {
      mediaType: o.family === 'oci' ? MediaType.OciConfig : MediaType.DockerConfig,
      size: rawConfig.length,
      digest: sha256(rawConfig),
    },
    // odd key order on purpose: the mutated manifest must keep these objects byte for byte
    layers: layers.map((l) => ({
      size: l.size,
      digest: l.digest,
      mediaType: l.mediaType,
      annotations: l.descriptor.annotations,
    })),
    ...(o.family === 'oci' ? { annotations: { 'org.example.base': 'yes' } } : {}),
  };
  const rawManifest = Buffer.from(JSON.stringify(manifest));
  return {
    mediaType: manifest.mediaType,
    source: { registry: 'example.test', repository: 'base' },
    rawManifest: () => Promise.resolve(rawManifest),
    manifest: () => Promise.resolve(parseJson(ManifestSchema, rawManifest, 'manifest')),
    digest: () => Promise.resolve(sha256(rawManifest)),
    rawConfig: () => Promise.resolve(rawConfig),
    config: () => Promise.resolve(parseJson(ImageConfigSchema, rawConfig, 'config')),
    layers: () => Promise.resolve(layers),
  };
}

const patch = memoryLayer('patched files', MediaType.OciLayerGzip, { 'org.example.layer': 'patch' });
const opts = {
  history: { created_by: 'copa patch', comment: 'test' },
  labels: { BaseImage: 'docker.io/library/base:1' },
  annotations: { 'sh.copa.image.patched': '2024-05-01T00:00:00Z' },
  created: '2024-05-01T00:00:00Z',
};
const hist: History[] = [
  { created: '2020', created_by: 'ADD a' },
  { created: '2020', created_by: 'ENV X=1', empty_layer: true },
  { created: '2020', created_by: 'ADD b' },
];

async function rawBaseDescriptors(img: Image): Promise<string[]> {
  const m = JSON.parse((await img.rawManifest()).toString()) as { layers: unknown[] };
  return m.layers.map((d) => JSON.stringify(d));
}

describe('appendLayer, OCI family', () => {
  it('adds the diffID, history, labels, created and annotations', async () => {
    const base = memoryImage({ family: 'oci', contents: ['a', 'b'], history: hist, labels: { keep: 'me' } });
    const img = await appendLayer(base, patch, opts);
    const cfg = await img.config();
    const baseCfg = await base.config();
    expect(cfg.rootfs.diff_ids).toEqual([...baseCfg.rootfs.diff_ids, patch.diffID]);
    expect(cfg.history).toEqual([
      ...hist,
      { created: opts.created, created_by: 'copa patch', comment: 'test' },
    ]);
    expect(cfg.config?.Labels).toEqual({ keep: 'me', BaseImage: 'docker.io/library/base:1' });
    expect(cfg.config?.Env).toEqual(['PATH=/bin']);
    expect(cfg.created).toBe(opts.created);
    expect((cfg as Record<string, unknown>)['zzz_unknown']).toEqual({ keep: true });

    const m = await img.manifest();
    expect(img.mediaType).toBe(MediaType.OciManifest);
    expect(m.mediaType).toBe(MediaType.OciManifest);
    expect(m.config.mediaType).toBe(MediaType.OciConfig);
    const rawCfg = await img.rawConfig();
    expect(m.config.digest).toBe(sha256(rawCfg));
    expect(m.config.size).toBe(rawCfg.length);
    expect(m.annotations).toEqual({ 'org.example.base': 'yes', ...opts.annotations });
    expect(m.layers).toHaveLength(3);
    expect(m.layers[2]).toEqual({
      mediaType: MediaType.OciLayerGzip,
      digest: patch.digest,
      size: patch.size,
      annotations: { 'org.example.layer': 'patch' },
    });
    expect(await img.digest()).toBe(sha256(await img.rawManifest()));
    expect(img.source).toEqual(base.source);
  });

  it('references base layers by their existing descriptors, byte for byte, and keeps config key order', async () => {
    const base = memoryImage({ family: 'oci', contents: ['a', 'b'], history: hist });
    const img = await appendLayer(base, patch, opts);
    const before = await rawBaseDescriptors(base);
    const after = await rawBaseDescriptors(img);
    expect(after.slice(0, 2)).toEqual(before);
    const raw = (await img.rawManifest()).toString();
    for (const d of before) expect(raw).toContain(d);
    const baseLayers = await base.layers();
    const layers = await img.layers();
    expect(layers.slice(0, 2)).toEqual(baseLayers); // same objects: never re-read or recompressed
    expect(layers[2]?.digest).toBe(patch.digest);
    expect(Object.keys(JSON.parse((await img.rawConfig()).toString()) as object)).toEqual(
      Object.keys(JSON.parse((await base.rawConfig()).toString()) as object),
    );
  });

  it('is deterministic', async () => {
    const base = memoryImage({ family: 'oci', contents: ['a'], history: hist.slice(0, 1) });
    const a = await appendLayer(base, patch, opts);
    const b = await appendLayer(base, patch, opts);
    expect(await a.digest()).toBe(await b.digest());
    expect((await a.rawConfig()).equals(await b.rawConfig())).toBe(true);
  });

  it('adds no history when the base has none and leaves created alone without opts.created', async () => {
    const base = memoryImage({ family: 'oci', contents: ['a'], labels: null });
    const img = await appendLayer(base, patch, { history: { created_by: 'x' }, labels: { L: '1' } });
    const cfg = await img.config();
    expect(cfg.history).toBeUndefined();
    expect(cfg.created).toBe('2020-01-01T00:00:00Z');
    expect(cfg.config?.Labels).toEqual({ L: '1' });
    expect((await img.manifest()).annotations).toEqual({ 'org.example.base': 'yes' });
  });

  it('keeps the added layer stream readable', async () => {
    const img = await appendLayer(memoryImage({ family: 'oci', contents: ['a'] }), patch, opts);
    const last = (await img.layers())[1];
    const chunks: Buffer[] = [];
    for await (const c of await last!.compressed()) chunks.push(c as Buffer);
    expect(sha256(Buffer.concat(chunks))).toBe(patch.digest);
  });
});

describe('appendLayer, Docker schema2 family', () => {
  it('stays Docker: manifest, config and layer types; no annotations', async () => {
    const base = memoryImage({ family: 'docker', contents: ['a', 'b'], history: hist });
    const img = await appendLayer(base, patch, opts);
    const m = await img.manifest();
    expect(img.mediaType).toBe(MediaType.DockerManifest);
    expect(m.mediaType).toBe(MediaType.DockerManifest);
    expect(m.config.mediaType).toBe(MediaType.DockerConfig);
    expect(m.annotations).toBeUndefined();
    expect(m.layers.map((l) => l.mediaType)).toEqual(Array(3).fill(MediaType.DockerLayerGzip));
    expect(m.layers[2]).toEqual({
      mediaType: MediaType.DockerLayerGzip,
      digest: patch.digest,
      size: patch.size,
    });
    const layers = await img.layers();
    expect(layers[2]?.mediaType).toBe(MediaType.DockerLayerGzip);
    expect(layers[2]?.diffID).toBe(patch.diffID);
    expect((await rawBaseDescriptors(img)).slice(0, 2)).toEqual(await rawBaseDescriptors(base));
    expect((await img.config()).rootfs.diff_ids).toHaveLength(3);
  });

  it('maps a Docker gzip layer to the OCI type for an OCI base', async () => {
    const dockerLayer = memoryLayer('d', MediaType.DockerLayerGzip);
    const img = await appendLayer(memoryImage({ family: 'oci', contents: ['a'] }), dockerLayer, opts);
    expect((await img.manifest()).layers[1]?.mediaType).toBe(MediaType.OciLayerGzip);
  });
});

describe('replaceLayers', () => {
  it('keeps the first layers, their diff_ids and non-empty history, then appends', async () => {
    const history: History[] = [...hist, { created: '2021', created_by: 'old patch' }];
    const base = memoryImage({ family: 'oci', contents: ['a', 'b', 'old patch'], history });
    const img = await replaceLayers(base, 2, patch, opts);
    const baseCfg = await base.config();
    const cfg = await img.config();
    expect(cfg.rootfs.diff_ids).toEqual([...baseCfg.rootfs.diff_ids.slice(0, 2), patch.diffID]);
    expect(cfg.history?.map((h) => h.created_by)).toEqual(['ADD a', 'ENV X=1', 'ADD b', 'copa patch']);
    const m = await img.manifest();
    expect(m.layers.map((l) => l.digest)).toEqual([
      ...(await base.manifest()).layers.slice(0, 2).map((l) => l.digest),
      patch.digest,
    ]);
    expect((await img.layers()).map((l) => l.digest)).toEqual(m.layers.map((l) => l.digest));
  });

  it('rejects an impossible keep and an inconsistent base', async () => {
    const base = memoryImage({ family: 'oci', contents: ['a'] });
    await expect(replaceLayers(base, 2, patch, opts)).rejects.toThrow(/cannot keep 2 of 1/);
    await expect(replaceLayers(base, -1, patch, opts)).rejects.toBeInstanceOf(CopaError);
    const broken: Image = { ...base, layers: () => Promise.resolve([]), mediaType: base.mediaType };
    const cfg = JSON.parse((await base.rawConfig()).toString()) as { rootfs: { diff_ids: string[] } };
    cfg.rootfs.diff_ids.push(patch.diffID);
    const raw = Buffer.from(JSON.stringify(cfg));
    const inconsistent: Image = {
      ...broken,
      rawConfig: () => Promise.resolve(raw),
      config: () => Promise.resolve(parseJson(ImageConfigSchema, raw, 'c')),
    };
    await expect(appendLayer(inconsistent, patch, opts)).rejects.toThrow(
      /2 diff_ids but the manifest has 1 layers/,
    );
  });
});

describe('toOciImage / toOciIndex', () => {
  it('renames a Docker image to OCI media types over the same config and layer blobs', async () => {
    const base = memoryImage({ family: 'docker', contents: ['a', 'b'], history: hist });
    const oci = await toOciImage(base);
    const m = await oci.manifest();
    expect(oci.mediaType).toBe(MediaType.OciManifest);
    expect(m.mediaType).toBe(MediaType.OciManifest);
    expect(m.config.mediaType).toBe(MediaType.OciConfig);
    expect(m.config.digest).toBe((await base.manifest()).config.digest);
    expect((await oci.rawConfig()).equals(await base.rawConfig())).toBe(true);
    expect(m.layers.map((l) => l.mediaType)).toEqual([MediaType.OciLayerGzip, MediaType.OciLayerGzip]);
    expect(m.layers.map((l) => l.digest)).toEqual((await base.manifest()).layers.map((l) => l.digest));
    expect((await oci.layers()).map((l) => l.mediaType)).toEqual([
      MediaType.OciLayerGzip,
      MediaType.OciLayerGzip,
    ]);
    expect(await oci.digest()).not.toBe(await base.digest());
    expect(oci.source).toEqual(base.source);
    const already = memoryImage({ family: 'oci', contents: ['a'] });
    expect(await toOciImage(already)).toBe(already);
  });

  it('renames a Docker manifest list, leaving the children byte for byte', async () => {
    const child = memoryImage({ family: 'docker', contents: ['a'] });
    const raw = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.DockerManifestList,
        manifests: [
          {
            mediaType: MediaType.DockerManifest,
            digest: await child.digest(),
            size: (await child.rawManifest()).length,
            platform: { architecture: 'amd64', os: 'linux' },
          },
        ],
      }),
    );
    const list: ImageIndex = {
      mediaType: MediaType.DockerManifestList,
      rawManifest: () => Promise.resolve(raw),
      index: () => Promise.resolve(parseJson(IndexSchema, raw, 'list')),
      digest: () => Promise.resolve(sha256(raw)),
      image: () => Promise.resolve(child),
    };
    const oci = await toOciIndex(list);
    expect(oci.mediaType).toBe(MediaType.OciIndex);
    const idx = await oci.index();
    expect(idx.mediaType).toBe(MediaType.OciIndex);
    expect(idx.manifests).toEqual((await list.index()).manifests);
    expect(await oci.digest()).toBe(sha256(await oci.rawManifest()));
    expect(await oci.image(idx.manifests[0]!)).toBe(child);
  });
});
