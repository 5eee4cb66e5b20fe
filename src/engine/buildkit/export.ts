/**
 * The diff BuildKit exported: an OCI layout as a tar, streamed to us over the session. Its layer blobs (one
 * per step) are squashed into the one new layer at the tar level (src/layers/squash.ts), so the client needs
 * no root and sets no owners.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { CopaError } from '../../errors.js';
import type { Layer } from '../../oci/image.js';
import { readTar } from '../../layers/tar-reader.js';

const BLOB = /^blobs\/sha256\/([0-9a-f]{64})$/;

/** unpack the blobs of an OCI layout tar into `dir` (only blobs and index.json; nothing else is written) */
async function unpack(tarFile: string, dir: string): Promise<void> {
  await mkdir(join(dir, 'blobs'), { recursive: true });
  for await (const entry of readTar(createReadStream(tarFile))) {
    const name = entry.header.name.replace(/^\.\//, '');
    const blob = BLOB.exec(name);
    const dest = blob
      ? join(dir, 'blobs', blob[1] ?? '')
      : name === 'index.json'
        ? join(dir, 'index.json')
        : undefined;
    if (dest && entry.header.type === 'file')
      await pipeline(Readable.from(entry.body), createWriteStream(dest));
  }
}

const json = async (file: string): Promise<Record<string, unknown>> =>
  JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;

const digestHex = (d: unknown): string => {
  const m = /^sha256:([0-9a-f]{64})$/.exec(String(d));
  if (!m?.[1]) throw new CopaError('ENGINE', `BuildKit exported a descriptor with digest ${String(d)}`);
  return m[1];
};

/** the exported layer blobs, bottom first (files under `workDir`) */
export async function exportedLayers(tarFile: string, workDir: string): Promise<string[]> {
  const dir = join(workDir, 'export');
  await unpack(tarFile, dir);
  const index = await json(join(dir, 'index.json'));
  const manifests = index.manifests as Array<{ digest: string }> | undefined;
  const first = manifests?.[0];
  if (!first) throw new CopaError('ENGINE', 'BuildKit exported an OCI layout without a manifest');
  const manifest = await json(join(dir, 'blobs', digestHex(first.digest)));
  const layers = (manifest.layers as Array<{ digest: string }> | undefined) ?? [];
  return layers.map((l) => join(dir, 'blobs', digestHex(l.digest)));
}

/**
 * Re-patching: the earlier patch layers, saved as their registry blobs (digest-verified while streaming)
 * under `workDir`, bottom first, to be squashed under the diff the daemon exports.
 */
export async function savedLayers(layers: Layer[], workDir: string): Promise<string[]> {
  const dir = join(workDir, 'seed');
  await mkdir(dir, { recursive: true });
  return Promise.all(
    layers.map(async (l, i) => {
      const file = join(dir, `${i}-${digestHex(l.digest)}`);
      await pipeline(await l.compressed(), createWriteStream(file));
      return file;
    }),
  );
}
