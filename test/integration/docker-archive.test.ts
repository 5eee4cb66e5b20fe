import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopaError } from '../../src/errors.js';
import { writeDockerArchive } from '../../src/oci/archive/index.js';
import { sha256 } from '../../src/oci/digest.js';
import { fileLayer } from '../../src/oci/filelayer.js';
import type { Image, ImageIndex, Layer } from '../../src/oci/image.js';
import { readOciLayout } from '../../src/oci/layout/index.js';
import { MediaType } from '../../src/oci/mediatypes.js';
import { appendLayer } from '../../src/oci/mutate.js';
import {
  makeUmociImage,
  run,
  skopeoInspect,
  writeGzipLayer,
  type GzipLayerFile,
} from '../helpers/oci-fixture.js';

let tmp: string;
let base: Image;
let patchFile: GzipLayerFile;

function asImage(x: Image | ImageIndex): Image {
  if (!('layers' in x)) throw new Error('expected an image, got an index');
  return x;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'copa-docker-archive-'));
  const src = join(tmp, 'src');
  await makeUmociImage({
    dir: src,
    tag: 'base',
    layers: [{ 'etc/hello': 'hello\n' }, { 'etc/second': 'second\n' }],
  });
  base = asImage(await readOciLayout(src, 'base'));
  patchFile = await writeGzipLayer(join(tmp, 'patch.tar.gz'), { 'etc/patched': 'yes\n' });
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function patchedImage(layer?: Layer): Promise<Image> {
  return appendLayer(base, layer ?? fileLayer({ ...patchFile, mediaType: MediaType.OciLayerGzip }), {
    history: { created_by: 'copa test patch' },
    labels: { BaseImage: 'example/base:1' },
  });
}

async function writeTo(path: string, img: Image, tags: string[]): Promise<void> {
  await writeDockerArchive(createWriteStream(path), img, tags);
}

describe('docker-archive writer', () => {
  it('writes a tar that skopeo reads and copies with every layer', async () => {
    const img = await patchedImage();
    const file = join(tmp, 'image.tar');
    await writeTo(file, img, ['example.test/app:patched', 'nginx:1']);

    const manifest = JSON.parse(await run('tar', ['-xOf', file, 'manifest.json'])) as Array<{
      Config: string;
      RepoTags: string[];
      Layers: string[];
    }>;
    const layers = await img.layers();
    expect(manifest).toEqual([
      {
        Config: `blobs/sha256/${(await img.manifest()).config.digest.slice(7)}`,
        RepoTags: ['example.test/app:patched', 'nginx:1'],
        Layers: layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
      },
    ]);
    // every member is exactly its blob
    const config = await run('tar', ['-xOf', file, manifest[0]!.Config]);
    expect(sha256(config)).toBe((await img.manifest()).config.digest);

    // skopeo's docker-archive reader describes layers by their diffIDs (it decompresses them)
    const diffIDs = (await img.config()).rootfs.diff_ids;
    const inspect = await skopeoInspect(`docker-archive:${file}`);
    expect(inspect.Layers).toEqual(diffIDs);
    expect(inspect.Labels).toEqual({ BaseImage: 'example/base:1' });

    const copied = join(tmp, 'copied');
    await run('skopeo', ['copy', `docker-archive:${file}`, `oci:${copied}:x`]);
    const ociInspect = await skopeoInspect(`oci:${copied}:x`);
    expect(ociInspect.Layers).toHaveLength(3);
    const bundle = join(tmp, 'bundle');
    await run('umoci', ['unpack', '--image', `${copied}:x`, bundle]);
    expect(await readFile(join(bundle, 'rootfs/etc/patched'), 'utf8')).toBe('yes\n');
    expect(await readFile(join(bundle, 'rootfs/etc/hello'), 'utf8')).toBe('hello\n');
  });

  it('is deterministic and streams into a consumer process', async () => {
    const img = await patchedImage();
    const a = join(tmp, 'a.tar');
    const b = join(tmp, 'b.tar');
    await writeTo(a, img, ['app:v1']);
    await writeTo(b, img, ['app:v1']);
    expect(sha256(await readFile(a))).toBe(sha256(await readFile(b)));

    const tar = spawn('tar', ['-tvf', '-'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let listing = '';
    tar.stdout.on('data', (d: Buffer) => (listing += d.toString()));
    const exited = new Promise<number | null>((resolve) => tar.on('close', resolve));
    await writeDockerArchive(tar.stdin, img, ['app:v1']);
    expect(await exited).toBe(0);
    const names = listing
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/).pop());
    expect(names).toEqual([
      'manifest.json',
      'blobs/',
      'blobs/sha256/',
      `blobs/sha256/${(await img.manifest()).config.digest.slice(7)}`,
      ...(await img.layers()).map((l) => `blobs/sha256/${l.digest.slice(7)}`),
    ]);
    expect(listing).toContain('root/root');
  });

  it('fails cleanly: bad tags, a layer stream that breaks mid-way', async () => {
    const img = await patchedImage();
    await expect(writeDockerArchive(new PassThrough(), img, ['app'])).rejects.toThrow(/must be name:tag/);
    await expect(writeDockerArchive(new PassThrough(), img, ['App:x'])).rejects.toMatchObject({
      code: 'REFERENCE',
    });

    // fault injection: the layer sends some bytes, then fails like a reset connection
    const digest = sha256('never');
    const broken: Layer = {
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
              if (sent++ < 4) this.push(Buffer.alloc(16 * 1024, 1));
              else this.destroy(new Error('connection reset (injected)'));
            },
          }),
        );
      },
    };
    const bad = await patchedImage(broken);
    const out = createWriteStream(join(tmp, 'bad.tar'));
    const err = await writeDockerArchive(out, bad, ['app:bad']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopaError);
    expect((err as CopaError).message).toMatch(/writing docker archive: .*connection reset \(injected\)/);
    expect(out.destroyed).toBe(true);
    // what reached the file is not a loadable archive (no end-of-archive blocks after the short layer)
    expect((await stat(join(tmp, 'bad.tar'))).size).toBeLessThan(1 << 20);
    await expect(run('skopeo', ['inspect', `docker-archive:${join(tmp, 'bad.tar')}`])).rejects.toThrow();

    // a consumer that goes away after 100 bytes: the writer fails instead of hanging
    const big = await writeGzipLayer(join(tmp, 'big.tar.gz'), {
      'big/file': randomBytes(6 << 20).toString('base64'),
    });
    expect(big.size).toBeGreaterThan(1 << 20); // far more than a pipe buffer
    const img2 = await patchedImage(fileLayer({ ...big, mediaType: MediaType.OciLayerGzip }));
    const head = spawn('head', ['-c', '100'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const closed = new Promise((r) => head.once('close', r));
    const err2 = await writeDockerArchive(head.stdin, img2, ['app:v1']).catch((e: unknown) => e);
    await closed;
    expect(err2).toBeInstanceOf(CopaError);
    expect((err2 as CopaError).message).toMatch(/^writing docker archive: /);
  });
});
