import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopaError } from '../../src/errors.js';
import { sha256 } from '../../src/oci/digest.js';
import { fileLayer } from '../../src/oci/filelayer.js';
import type { Image, ImageIndex, Layer } from '../../src/oci/image.js';
import { readOciLayout } from '../../src/oci/layout/index.js';
import { loadImage, reencodeImage, resolveLocalStore } from '../../src/oci/load/index.js';
import { MediaType } from '../../src/oci/mediatypes.js';
import { appendLayer } from '../../src/oci/mutate.js';
import { ManifestSchema, parseJson } from '../../src/oci/schemas.js';
import { startDockerd, startPodmanStore, type TestDocker, type TestPodman } from '../helpers/dockerd.js';
import {
  asDockerFamily,
  makeUmociImage,
  writeGzipLayer,
  type GzipLayerFile,
} from '../helpers/oci-fixture.js';

/**
 * Loading into real local stores: a private Docker engine 20.10 (Debian docker.io) and a private podman store.
 * The loaded image is checked with the engines' own `image inspect`: same diffIDs, same config, ID = config digest.
 */

let tmp: string;
let docker: TestDocker;
let podman: TestPodman;
let base: Image;
let patched: Image;
let patchFile: GzipLayerFile;
let uncompressedSize: number;

function asImage(x: Image | ImageIndex): Image {
  if (!('layers' in x)) throw new Error('expected an image');
  return x;
}

interface Inspect {
  Id: string;
  RepoTags: string[];
  RootFS: { Layers: string[] };
  Config: { Labels?: Record<string, string> | null; Env?: string[] | null };
}

async function dockerInspect(ref: string): Promise<Inspect> {
  const out = await docker.docker(['image', 'inspect', ref]);
  return (JSON.parse(out.stdout) as Inspect[])[0]!;
}

/** An env where no store answers: no docker socket, no podman on PATH. */
function noStoreEnv(): NodeJS.ProcessEnv {
  return { PATH: '/nonexistent', HOME: tmp, DOCKER_HOST: `unix://${join(tmp, 'no-such.sock')}` };
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'copa-docker-load-'));
  const src = join(tmp, 'src');
  await makeUmociImage({
    dir: src,
    tag: 'base',
    layers: [{ 'etc/hello': 'hello\n' }, { 'etc/second': 'second\n' }],
  });
  base = asImage(await readOciLayout(src, 'base'));
  patchFile = await writeGzipLayer(join(tmp, 'patch.tar.gz'), {
    'etc/patched': 'yes\n',
    'usr/share/doc/x': 'doc\n',
  });
  uncompressedSize = gunzipSync(await readFile(patchFile.path)).length;
  patched = await appendLayer(base, fileLayer({ ...patchFile, mediaType: MediaType.OciLayerGzip }), {
    history: { created_by: 'copa test patch' },
    labels: { BaseImage: 'example/base:1' },
  });
  docker = await startDockerd();
  podman = await startPodmanStore();
}, 120_000);

afterAll(async () => {
  await docker?.stop();
  await podman?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('loading into a real docker engine', () => {
  it('streams a docker-archive to POST /images/load: same diffIDs, config and ID', async () => {
    const loaded = await loadImage(patched, 'copa-test/app:patched', { loader: 'docker', env: docker.env });
    expect(loaded.loader).toBe('docker');
    const cfg = await patched.config();
    expect(loaded.id).toBe((await patched.manifest()).config.digest);
    const inspect = await dockerInspect('copa-test/app:patched');
    expect(inspect.Id).toBe(loaded.id);
    expect(inspect.RootFS.Layers).toEqual(cfg.rootfs.diff_ids);
    expect(inspect.Config.Labels?.BaseImage).toBe('example/base:1');
    expect(inspect.RepoTags).toContain('copa-test/app:patched');
  });

  it('auto-detects docker (its socket answers /_ping) and honours a docker context', async () => {
    expect((await resolveLocalStore({ loader: '', env: docker.env })).loader).toBe('docker');
    // a context named "copa-test" whose endpoint is our engine; DOCKER_HOST unset
    const config = join(tmp, 'docker-config');
    const meta = join(config, 'contexts/meta', createHash('sha256').update('copa-test').digest('hex'));
    await mkdir(meta, { recursive: true });
    await writeFile(
      join(meta, 'meta.json'),
      JSON.stringify({ Name: 'copa-test', Endpoints: { docker: { Host: `unix://${docker.socket}` } } }),
    );
    await writeFile(join(config, 'config.json'), JSON.stringify({ currentContext: 'copa-test' }));
    const env = { PATH: '/nonexistent', DOCKER_CONFIG: config };
    const loaded = await loadImage(base, 'copa-test/ctx:1', { loader: '', env });
    expect(loaded.loader).toBe('docker');
    expect((await dockerInspect('copa-test/ctx:1')).RootFS.Layers).toEqual(
      (await base.config()).rootfs.diff_ids,
    );
  });

  it('a Docker schema2 image loads the same way', async () => {
    const img = await asDockerFamily(patched);
    await loadImage(img, '127.0.0.1:5000/copa-test/docker-family:1', { loader: 'docker', env: docker.env });
    const inspect = await dockerInspect('127.0.0.1:5000/copa-test/docker-family:1');
    expect(inspect.RootFS.Layers).toEqual((await patched.config()).rootfs.diff_ids);
  });

  it.each(['uncompressed', 'zstd', 'gzip'] as const)(
    '--force-compression %s: every layer re-encoded, same diffIDs',
    async (compression) => {
      const spoolDir = await mkdtemp(join(tmp, 'spool-'));
      const img = await reencodeImage(patched, {
        compression,
        layers: 'all',
        spoolDir,
        uncompressedSizes: new Map([[patchFile.diffID, uncompressedSize]]),
      });
      const manifest = await img.manifest();
      const want = {
        uncompressed: MediaType.OciLayer,
        zstd: MediaType.OciLayerZstd,
        gzip: MediaType.OciLayerGzip,
      }[compression];
      expect(manifest.layers.map((l) => l.mediaType)).toEqual(manifest.layers.map(() => want));
      if (compression === 'uncompressed')
        expect(manifest.layers.map((l) => l.digest)).toEqual((await patched.config()).rootfs.diff_ids);
      await loadImage(img, `copa-test/app:${compression}`, { loader: 'docker', env: docker.env });
      const inspect = await dockerInspect(`copa-test/app:${compression}`);
      expect(inspect.RootFS.Layers).toEqual((await patched.config()).rootfs.diff_ids);
      expect(inspect.Id).toBe((await patched.manifest()).config.digest);
    },
  );

  it('the new layer only (default): uncompressed, streamed without a spool file, blob digest = diffID', async () => {
    const spoolDir = await mkdtemp(join(tmp, 'spool-'));
    const img = await reencodeImage(patched, {
      compression: 'uncompressed',
      layers: 'last',
      spoolDir,
      uncompressedSizes: new Map([[patchFile.diffID, uncompressedSize]]),
    });
    const layers = await img.layers();
    expect(layers.slice(0, -1).map((l) => l.digest)).toEqual((await base.layers()).map((l) => l.digest));
    expect(layers.at(-1)?.digest).toBe(patchFile.diffID);
    expect(await readdir(spoolDir)).toEqual([]);
    await loadImage(img, 'copa-test/app:last', { loader: 'docker', env: docker.env });
    expect((await dockerInspect('copa-test/app:last')).RootFS.Layers).toEqual(
      (await patched.config()).rootfs.diff_ids,
    );
  });

  it("the engine's refusal is a clear error (config diff_ids that do not match the layers)", async () => {
    const raw = JSON.parse((await patched.rawConfig()).toString()) as { rootfs: { diff_ids: string[] } };
    raw.rootfs.diff_ids[0] = sha256('not this layer');
    const rawConfig = Buffer.from(JSON.stringify(raw));
    const manifest = { ...(await patched.manifest()) };
    manifest.config = { ...manifest.config, digest: sha256(rawConfig), size: rawConfig.length };
    const rawManifest = Buffer.from(JSON.stringify(manifest));
    const broken: Image = {
      ...patched,
      mediaType: patched.mediaType,
      rawConfig: () => Promise.resolve(rawConfig),
      config: () => patched.config(),
      rawManifest: () => Promise.resolve(rawManifest),
      manifest: () => Promise.resolve(parseJson(ManifestSchema, rawManifest, 'broken manifest')),
      layers: () => patched.layers(),
      digest: () => Promise.resolve(sha256(rawManifest)),
    };
    const err = await loadImage(broken, 'copa-test/broken:1', { loader: 'docker', env: docker.env }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CopaError);
    expect((err as CopaError).message).toMatch(/docker load failed: .*diff/i);
    await expect(docker.docker(['image', 'inspect', 'copa-test/broken:1'])).rejects.toThrow(/No such image/);
  });

  it('a layer whose bytes do not match its digest: DIGEST_MISMATCH, nothing tagged', async () => {
    const corrupt = join(tmp, 'corrupt.tar.gz');
    const bytes = await readFile(patchFile.path);
    const at = bytes.length - 12;
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    await writeFile(corrupt, bytes);
    const img = await appendLayer(
      base,
      fileLayer({ ...patchFile, path: corrupt, mediaType: MediaType.OciLayerGzip }),
      {
        history: { created_by: 'corrupt' },
      },
    );
    const err = await loadImage(img, 'copa-test/corrupt:1', { loader: 'docker', env: docker.env }).catch(
      (e: unknown) => e,
    );
    expect((err as CopaError).code).toBe('DIGEST_MISMATCH');
    await expect(docker.docker(['image', 'inspect', 'copa-test/corrupt:1'])).rejects.toThrow(/No such image/);
  });
});

describe('loading into podman', () => {
  it('pipes the docker-archive into `podman load`: same diffIDs and ID', async () => {
    const loaded = await loadImage(patched, 'copa-test/app:podman', { loader: 'podman', env: podman.env });
    expect(loaded.loader).toBe('podman');
    const out = await podman.podman(['image', 'inspect', 'copa-test/app:podman']);
    const inspect = (
      JSON.parse(out.stdout) as Array<{
        Id: string;
        RootFS: { Layers: string[] };
        Labels?: Record<string, string>;
      }>
    )[0]!;
    expect(`sha256:${inspect.Id}`).toBe(loaded.id);
    expect(inspect.RootFS.Layers).toEqual((await patched.config()).rootfs.diff_ids);
    expect(inspect.Labels?.BaseImage).toBe('example/base:1');
  });

  it('auto-detection falls back to podman when no docker engine answers', async () => {
    const env = { ...podman.env, DOCKER_HOST: `unix://${join(tmp, 'no-such.sock')}` };
    expect((await resolveLocalStore({ loader: '', env })).loader).toBe('podman');
  });
});

/**
 * The patched image whose new layer comes in slowly, like a slow registry (16 KiB every 20 ms; its digest is
 * made up, so it could never load), and a promise that resolves once the loader has started reading it.
 */
function slowImage(): { image: Promise<Image>; reading: Promise<void> } {
  let started: () => void = () => undefined;
  const reading = new Promise<void>((r) => (started = r));
  const size = 1 << 20;
  const layer: Layer = {
    digest: sha256('slow'),
    diffID: sha256('slow-tar'),
    size,
    mediaType: MediaType.OciLayerGzip,
    descriptor: { mediaType: MediaType.OciLayerGzip, digest: sha256('slow'), size },
    compressed: () => {
      const s = new PassThrough();
      let sent = 0;
      const timer = setInterval(() => {
        if (s.destroyed || sent >= size) {
          clearInterval(timer);
          s.end();
          return;
        }
        s.write(Buffer.alloc(16 * 1024));
        sent += 16 * 1024;
      }, 20);
      s.once('data', () => started());
      return Promise.resolve(s);
    },
  };
  return { image: appendLayer(base, layer, { history: { created_by: 'slow' } }), reading };
}

describe('cancelling a load', () => {
  it.each(['docker', 'podman'] as const)(
    '%s: an abort mid-stream rejects with CANCELLED and tags nothing',
    async (loader) => {
      const { image, reading } = slowImage();
      const controller = new AbortController();
      const env = loader === 'docker' ? docker.env : podman.env;
      const loading = loadImage(await image, `copa-test/cancelled:${loader}`, {
        loader,
        env,
        signal: controller.signal,
      });
      await reading;
      controller.abort();
      const err = await loading.catch((e: unknown) => e);
      expect((err as CopaError).code).toBe('CANCELLED');
      const inspect = (args: string[]) => (loader === 'docker' ? docker.docker(args) : podman.podman(args));
      await expect(inspect(['image', 'inspect', `copa-test/cancelled:${loader}`])).rejects.toThrow(
        /no such image|image not known/i,
      );
    },
  );
});

describe('no local store', () => {
  it('auto: "no local image store found", suggesting --push or --oci-dir', async () => {
    const err = await resolveLocalStore({ loader: '', env: noStoreEnv() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopaError);
    expect((err as CopaError).code).toBe('ENVIRONMENT');
    expect((err as CopaError).message).toBe('no local image store found (docker or podman)');
    expect((err as CopaError).hint).toMatch(/--push.*--oci-dir/);
  });

  it('--loader docker without an engine names the socket; --loader podman without podman says so', async () => {
    await expect(resolveLocalStore({ loader: 'docker', env: noStoreEnv() })).rejects.toThrow(
      /no docker engine answers at .*no-such\.sock/,
    );
    await expect(resolveLocalStore({ loader: 'podman', env: noStoreEnv() })).rejects.toThrow(
      /podman is not on PATH/,
    );
  });
});
