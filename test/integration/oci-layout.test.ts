import { cp, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopaError } from '../../src/errors.js';
import { sha256 } from '../../src/oci/digest.js';
import { fileLayer } from '../../src/oci/filelayer.js';
import type { Image, ImageIndex, Layer } from '../../src/oci/image.js';
import { readOciLayout, writeOciLayout } from '../../src/oci/layout/index.js';
import { MediaType } from '../../src/oci/mediatypes.js';
import { appendLayer } from '../../src/oci/mutate.js';
import { parsePlatform, selectManifest } from '../../src/oci/platform.js';
import { IndexSchema, parseJson, type Descriptor, type Platform } from '../../src/oci/schemas.js';
import {
  asDockerFamily,
  makeUmociImage,
  run,
  skopeoInspect,
  writeGzipLayer,
  type GzipLayerFile,
} from '../helpers/oci-fixture.js';

let tmp: string;
let src: string;
let patchFile: GzipLayerFile;
const created = '2024-05-01T12:00:00Z';

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'copa-oci-layout-'));
  src = join(tmp, 'src');
  await makeUmociImage({
    dir: src,
    tag: 'base',
    layers: [{ 'etc/hello': 'hello\n', 'usr/share/doc/readme': 'base\n' }, { 'etc/second': 'second\n' }],
  });
  patchFile = await writeGzipLayer(join(tmp, 'patch.tar.gz'), {
    'etc/hello': 'patched hello\n',
    'etc/patched': 'yes\n',
  });
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function asImage(x: Image | ImageIndex): Image {
  if (!('layers' in x)) throw new Error('expected an image, got an index');
  return x;
}

async function patched(base: Image, layer?: Layer): Promise<Image> {
  const l = layer ?? fileLayer({ ...patchFile, mediaType: MediaType.OciLayerGzip });
  return appendLayer(base, l, {
    history: { created_by: 'copa test patch' },
    labels: { BaseImage: 'example/base:1' },
    annotations: { 'sh.copa.image.patched': created },
    created,
  });
}

/** Fault injection: a layer whose stream sends some bytes, then fails like a reset connection. */
function failingLayer(): Layer {
  const digest = sha256('never');
  return {
    digest,
    diffID: sha256('never-diff'),
    size: 1 << 20,
    mediaType: MediaType.OciLayerGzip,
    descriptor: { mediaType: MediaType.OciLayerGzip, digest, size: 1 << 20 },
    compressed: () => {
      let sent = 0;
      return Promise.resolve(
        new Readable({
          read() {
            if (sent++ < 4) this.push(Buffer.alloc(16 * 1024, 7));
            else this.destroy(new Error('connection reset (injected)'));
          },
        }),
      );
    },
  };
}

/** An in-test ImageIndex over images (each given a platform in the index). */
async function indexOf(
  children: Array<{ image: Image; platform: Platform }>,
  mediaType: string = MediaType.OciIndex,
): Promise<ImageIndex> {
  const manifests: Descriptor[] = [];
  for (const c of children) {
    manifests.push({
      mediaType: c.image.mediaType,
      digest: await c.image.digest(),
      size: (await c.image.rawManifest()).length,
      platform: c.platform,
    });
  }
  const raw = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests }));
  const index = parseJson(IndexSchema, raw, 'test index');
  return {
    mediaType,
    rawManifest: () => Promise.resolve(raw),
    index: () => Promise.resolve(index),
    digest: () => Promise.resolve(sha256(raw)),
    async image(desc) {
      for (const c of children) if ((await c.image.digest()) === desc.digest) return c.image;
      throw new Error(`no child ${desc.digest}`);
    },
  };
}

async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.sort();
}

describe('OCI layout read -> append -> write', () => {
  it('round-trips a umoci image with one new layer, verified by skopeo and umoci', async () => {
    const base = asImage(await readOciLayout(src, 'base'));
    const baseInspect = await skopeoInspect(`oci:${src}:base`);
    expect(await base.digest()).toBe(baseInspect.Digest);
    expect((await base.layers()).map((l) => l.digest)).toEqual(baseInspect.Layers);
    const baseDiffIDs = (await base.config()).rootfs.diff_ids;

    const img = await patched(base);
    const out = join(tmp, 'new-parent', 'layout');
    const { digests } = await writeOciLayout(out, [{ image: img, refName: 'patched' }]);
    expect(digests).toEqual([await img.digest()]);
    expect(await readdir(join(tmp, 'new-parent'))).toEqual(['layout']); // no temp dir left beside it

    const inspect = await skopeoInspect(`oci:${out}:patched`);
    expect(inspect.Digest).toBe(digests[0]);
    expect(inspect.Layers).toEqual([...baseInspect.Layers, patchFile.digest]);
    expect(inspect.Labels).toEqual({ BaseImage: 'example/base:1' });
    const rawConfig = JSON.parse(
      await run('skopeo', ['inspect', '--config', '--raw', `oci:${out}:patched`]),
    ) as {
      rootfs: { diff_ids: string[] };
      history: Array<{ created_by?: string }>;
    };
    expect(rawConfig.rootfs.diff_ids).toEqual([...baseDiffIDs, patchFile.diffID]);
    expect(rawConfig.history.map((h) => h.created_by)).toEqual([
      'fixture layer 0',
      'fixture layer 1',
      'copa test patch',
    ]);
    const rawManifest = JSON.parse(await run('skopeo', ['inspect', '--raw', `oci:${out}:patched`])) as {
      mediaType: string;
      annotations: Record<string, string>;
    };
    expect(rawManifest.mediaType).toBe(MediaType.OciManifest);
    expect(rawManifest.annotations['sh.copa.image.patched']).toBe(created);

    // skopeo verifies every blob digest while copying
    await run('skopeo', ['copy', `oci:${out}:patched`, `dir:${join(tmp, 'copied')}`]);

    const bundle = join(tmp, 'bundle');
    await run('umoci', ['unpack', '--image', `${out}:patched`, bundle]);
    expect(await readFile(join(bundle, 'rootfs/etc/patched'), 'utf8')).toBe('yes\n');
    expect(await readFile(join(bundle, 'rootfs/etc/hello'), 'utf8')).toBe('patched hello\n');
    expect(await readFile(join(bundle, 'rootfs/etc/second'), 'utf8')).toBe('second\n');
    expect(await readFile(join(bundle, 'rootfs/usr/share/doc/readme'), 'utf8')).toBe('base\n');

    // our own reader agrees, and the only entry is picked without a name
    const back = asImage(await readOciLayout(out));
    expect(await back.digest()).toBe(digests[0]);
    expect((await back.config()).rootfs.diff_ids).toEqual([...baseDiffIDs, patchFile.diffID]);
    const last = (await back.layers())[2];
    let n = 0;
    for await (const c of await last!.compressed()) n += (c as Buffer).length;
    expect(n).toBe(patchFile.size);
  });

  it('fills an empty directory and adds to an existing layout, replacing the same ref name', async () => {
    const base = asImage(await readOciLayout(src, 'base'));
    const img = await patched(base);
    const empty = join(tmp, 'empty');
    await mkdir(empty);
    await writeOciLayout(empty, [{ image: base, refName: 'base' }]);
    expect((await skopeoInspect(`oci:${empty}:base`)).Digest).toBe(await base.digest());

    const existing = join(tmp, 'existing');
    await cp(src, existing, { recursive: true });
    const blobsBefore = (await readdir(join(existing, 'blobs/sha256'))).length;
    await writeOciLayout(existing, [
      { image: img, refName: 'base' },
      { image: img, refName: 'patched' },
    ]);
    const index = parseJson(IndexSchema, await readFile(join(existing, 'index.json')), 'index.json');
    expect(index.manifests.map((d) => d.annotations?.['org.opencontainers.image.ref.name'])).toEqual([
      'base',
      'patched',
    ]);
    expect((await skopeoInspect(`oci:${existing}:base`)).Layers).toHaveLength(3);
    // new: config, manifest, patch layer; base layers were present and skipped
    expect((await readdir(join(existing, 'blobs/sha256'))).length).toBe(blobsBefore + 3);
    expect((await run('umoci', ['ls', '--layout', existing])).split('\n').filter(Boolean).sort()).toEqual([
      'base',
      'patched',
    ]);
    expect((await readdir(existing)).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);

    const notLayout = join(tmp, 'not-layout');
    await mkdir(notLayout);
    await cp(join(tmp, 'patch.tar.gz'), join(notLayout, 'x'));
    await expect(writeOciLayout(notLayout, [{ image: img }])).rejects.toThrow(/not an OCI image layout/);
    await expect(readOciLayout(existing)).rejects.toThrow(/holds 2 images/);
    await expect(readOciLayout(existing, 'nope')).rejects.toThrow(/no image named "nope".*base, patched/);
  });

  it('concurrent writers of one layout (new and existing) never lose an index.json entry', async () => {
    const base = asImage(await readOciLayout(src, 'base'));
    const img = await patched(base);
    const out = join(tmp, 'concurrent', 'layout');
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    // without the lock, the first writers race to rename their new directory into place and all but one fail
    await Promise.all(names.map((n, i) => writeOciLayout(out, [{ image: i % 2 ? img : base, refName: n }])));
    const index = parseJson(IndexSchema, await readFile(join(out, 'index.json')), 'index.json');
    expect(index.manifests.map((d) => d.annotations?.['org.opencontainers.image.ref.name']).sort()).toEqual(
      names,
    );
    expect((await run('umoci', ['ls', '--layout', out])).split('\n').filter(Boolean).sort()).toEqual(names);
    expect((await readdir(join(tmp, 'concurrent'))).sort()).toEqual(['layout']); // no temp dir, no lock left
  });

  it('writes an image index with every child, copied by skopeo --all and selectable by platform', async () => {
    const base = asImage(await readOciLayout(src, 'base'));
    const img = await patched(base);
    const idx = await indexOf([
      { image: base, platform: { os: 'linux', architecture: 'amd64' } },
      { image: img, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ]);
    const out = join(tmp, 'multi');
    const { digests } = await writeOciLayout(out, [{ index: idx, refName: 'multi' }]);
    expect(digests).toEqual([await idx.digest()]);
    const raw = await run('skopeo', ['inspect', '--raw', `oci:${out}:multi`]);
    expect(sha256(raw)).toBe(digests[0]);
    await run('skopeo', ['copy', '--all', `oci:${out}:multi`, `oci:${join(tmp, 'multi-copy')}:multi`]);

    const back = await readOciLayout(out, 'multi');
    if ('layers' in back) throw new Error('expected an index');
    const child = selectManifest(await back.index(), parsePlatform('linux/arm64'));
    const arm = await back.image(child);
    expect(await arm.digest()).toBe(await img.digest());
    expect((await arm.layers()).map((l) => l.digest)).toEqual((await img.layers()).map((l) => l.digest));
  });
});

describe('Docker schema2 input', () => {
  it('gets OCI media types at the top level; index children stay byte for byte', async () => {
    const base = await asDockerFamily(asImage(await readOciLayout(src, 'base')));
    const img = await patched(base);
    expect(img.mediaType).toBe(MediaType.DockerManifest);
    const list = await indexOf(
      [{ image: img, platform: { os: 'linux', architecture: 'amd64' } }],
      MediaType.DockerManifestList,
    );
    const out = join(tmp, 'docker-family');
    const { digests } = await writeOciLayout(out, [
      { image: img, refName: 'single' },
      { index: list, refName: 'list' },
    ]);
    expect(digests[0]).not.toBe(await img.digest());
    const inspect = await skopeoInspect(`oci:${out}:single`);
    expect(inspect.Digest).toBe(digests[0]);
    expect(inspect.Layers).toEqual((await img.layers()).map((l) => l.digest));
    const rawSingle = JSON.parse(await run('skopeo', ['inspect', '--raw', `oci:${out}:single`])) as {
      mediaType: string;
      config: { digest: string };
      layers: Array<{ mediaType: string }>;
    };
    expect(rawSingle.mediaType).toBe(MediaType.OciManifest);
    expect(rawSingle.config.digest).toBe((await img.manifest()).config.digest);
    expect(new Set(rawSingle.layers.map((l) => l.mediaType))).toEqual(new Set([MediaType.OciLayerGzip]));
    await run('skopeo', ['copy', `oci:${out}:single`, `dir:${join(tmp, 'docker-family-copy')}`]);

    const rawList = parseJson(
      IndexSchema,
      await run('skopeo', ['inspect', '--raw', `oci:${out}:list`]),
      'list',
    );
    expect(rawList.mediaType).toBe(MediaType.OciIndex);
    expect(rawList.manifests[0]).toMatchObject({
      mediaType: MediaType.DockerManifest,
      digest: await img.digest(),
    });
    await run('skopeo', ['copy', '--all', `oci:${out}:list`, `oci:${join(tmp, 'docker-list-copy')}:list`]);

    const kept = join(tmp, 'docker-kept');
    const written = await writeOciLayout(kept, [{ image: img, refName: 'raw' }], { ociMediaTypes: false });
    expect(written.digests).toEqual([await img.digest()]);
    const back = asImage(await readOciLayout(kept, 'raw'));
    expect(back.mediaType).toBe(MediaType.DockerManifest);
    expect(await back.digest()).toBe(await img.digest());
  });
});

describe('OCI layout failures leave nothing behind', () => {
  it('a new directory: no layout, no temp dir, no created parent', async () => {
    const base = asImage(await readOciLayout(src, 'base'));
    const bad = await patched(base, failingLayer());
    const parent = join(tmp, 'fail-parent');
    const err = await writeOciLayout(join(parent, 'layout'), [{ image: bad, refName: 'bad' }]).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CopaError);
    expect((err as CopaError).message).toMatch(/writing OCI layout .*connection reset \(injected\)/);
    expect(await readdir(tmp)).not.toContain('fail-parent');
    expect((await readdir(tmp)).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('an existing layout: index.json and blobs unchanged after a failed second entry', async () => {
    const dir = join(tmp, 'existing-fail');
    await cp(src, dir, { recursive: true });
    const treeBefore = await listTree(dir);
    const indexBefore = await readFile(join(dir, 'index.json'));
    const base = asImage(await readOciLayout(dir, 'base'));
    const good = await patched(base);
    const bad = await patched(base, failingLayer());
    await expect(
      writeOciLayout(dir, [
        { image: good, refName: 'good' },
        { image: bad, refName: 'bad' },
      ]),
    ).rejects.toThrow(/connection reset/);
    expect(await listTree(dir)).toEqual(treeBefore);
    expect((await readFile(join(dir, 'index.json'))).equals(indexBefore)).toBe(true);
  });

  it('a corrupt blob is reported as a digest mismatch when read', async () => {
    const dir = join(tmp, 'corrupt');
    await cp(src, dir, { recursive: true });
    const base = asImage(await readOciLayout(dir, 'base'));
    const first = (await base.layers())[0]!;
    const path = join(dir, 'blobs/sha256', first.digest.slice(7));
    await rm(path);
    await cp(join(tmp, 'patch.tar.gz'), path); // wrong content, wrong size
    const err = await writeOciLayout(join(tmp, 'from-corrupt'), [{ image: base }]).catch((e: unknown) => e);
    expect((err as CopaError).code).toBe('DIGEST_MISMATCH');
    expect(await readdir(tmp)).not.toContain('from-corrupt');
  });
});
