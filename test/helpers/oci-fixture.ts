import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import type { Image, Layer } from '../../src/oci/image.js';
import { MediaType } from '../../src/oci/mediatypes.js';
import { ManifestSchema, parseJson, type Manifest } from '../../src/oci/schemas.js';

const execFileP = promisify(execFile);

/** Run a tool (skopeo, umoci, ...) and return stdout; a failure carries its stderr. */
export async function run(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileP(cmd, args, { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.stderr ?? err.message}`, { cause: e });
  }
}

/** file path -> content; directories are implied. */
export type TarFiles = Record<string, string>;

/** A small uncompressed tar (fixed mtime, sorted entries) built in memory: fixture-sized only. */
export async function makeTar(files: TarFiles): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  const mtime = new Date(0);
  const dirs = new Set<string>();
  for (const path of Object.keys(files)) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const d of [...dirs].sort()) p.entry({ name: `${d}/`, type: 'directory', mode: 0o755, mtime });
  for (const [name, content] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
    p.entry({ name, mode: 0o644, mtime }, content);
  }
  p.finalize();
  await ended;
  return Buffer.concat(chunks);
}

export interface GzipLayerFile {
  path: string;
  digest: string;
  diffID: string;
  size: number;
}

/** Write `files` as a gzip tar to `path`, with its digest and diffID computed here (independently). */
export async function writeGzipLayer(path: string, files: TarFiles): Promise<GzipLayerFile> {
  const tar = await makeTar(files);
  const gz = gzipSync(tar);
  await writeFile(path, gz);
  const hash = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  return { path, digest: hash(gz), diffID: hash(tar), size: gz.length };
}

/**
 * A real OCI layout made by umoci: `umoci init` (when `init`), `umoci new`, then one
 * `umoci raw add-layer` per entry of `layers` (umoci gzips them and writes a history entry each).
 */
export async function makeUmociImage(opts: {
  dir: string;
  tag: string;
  layers: TarFiles[];
  init?: boolean;
}): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'copa-fixture-'));
  try {
    if (opts.init !== false) await run('umoci', ['init', '--layout', opts.dir]);
    const image = `${opts.dir}:${opts.tag}`;
    await run('umoci', ['new', '--image', image]);
    for (const [i, files] of opts.layers.entries()) {
      const tarPath = join(work, `layer${i}.tar`);
      await writeFile(tarPath, await makeTar(files));
      await run('umoci', [
        'raw',
        'add-layer',
        '--image',
        image,
        '--history.created_by',
        `fixture layer ${i}`,
        tarPath,
      ]);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** `skopeo inspect` of a transport:reference, parsed. */
export async function skopeoInspect(
  ref: string,
): Promise<{ Digest: string; Layers: string[]; Labels: Record<string, string> | null }> {
  return JSON.parse(await run('skopeo', ['inspect', ref])) as {
    Digest: string;
    Layers: string[];
    Labels: Record<string, string> | null;
  };
}

/**
 * The same image with Docker schema2 media types (umoci writes only OCI ones): manifest, config and
 * gzip layer types renamed, config and layer blobs unchanged.
 */
export async function asDockerFamily(image: Image): Promise<Image> {
  const manifest = JSON.parse((await image.rawManifest()).toString()) as Manifest;
  manifest.mediaType = MediaType.DockerManifest;
  manifest.config.mediaType = MediaType.DockerConfig;
  for (const l of manifest.layers)
    if (l.mediaType === MediaType.OciLayerGzip) l.mediaType = MediaType.DockerLayerGzip;
  const raw = Buffer.from(JSON.stringify(manifest));
  const parsed = parseJson(ManifestSchema, raw, 'docker manifest');
  const layers = (await image.layers()).map((l, i): Layer => {
    const descriptor = manifest.layers[i]!;
    return { ...l, mediaType: descriptor.mediaType, descriptor, compressed: () => l.compressed() };
  });
  return {
    mediaType: MediaType.DockerManifest,
    rawManifest: () => Promise.resolve(raw),
    manifest: () => Promise.resolve(parsed),
    digest: () => Promise.resolve(`sha256:${createHash('sha256').update(raw).digest('hex')}`),
    rawConfig: () => image.rawConfig(),
    config: () => image.config(),
    layers: () => Promise.resolve(layers),
  };
}
