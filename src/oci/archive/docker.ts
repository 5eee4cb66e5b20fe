import { pipeline as pipe, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack, type Header, type Pack } from 'tar-stream';
import { CopaError, withContext } from '../../errors.js';
import { digestHex, DigestStream, sha256 } from '../digest.js';
import type { Image } from '../image.js';
import { familiarString, parseReference } from '../reference.js';

/** One image of a `docker save` manifest.json. */
export interface DockerArchiveManifestEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

const blobName = (digest: string): string => `blobs/sha256/${digestHex(digest)}`;

/** RepoTags the way `docker save` writes them (`nginx:latest`, `127.0.0.1:5000/app:v1`). */
export function archiveRepoTags(tags: string[]): string[] {
  return tags.map((t) => {
    const ref = parseReference(t);
    if (ref.tag === undefined || ref.digest !== undefined) {
      throw new CopaError(
        'USAGE',
        `docker-archive tag ${JSON.stringify(t)} must be name:tag without a digest`,
        {
          hint: 'give the loaded image a tag, e.g. myimage:patched',
        },
      );
    }
    return familiarString(ref);
  });
}

/** manifest.json of a docker-archive (pure). */
export function dockerArchiveManifest(
  configDigest: string,
  layerDigests: string[],
  repoTags: string[],
): DockerArchiveManifestEntry[] {
  return [{ Config: blobName(configDigest), RepoTags: repoTags, Layers: layerDigests.map(blobName) }];
}

/**
 * Stream `image` as a `docker save`-format tar (what `docker load` / `podman load` read) into `out`,
 * which is ended when the archive is complete and destroyed on failure. Layers are written as
 * stored (docker load accepts gzip layers); every entry size comes from its descriptor, so nothing is
 * buffered. The tar is deterministic: fixed order, mtime 0, root owner.
 */
export async function writeDockerArchive(out: Writable, image: Image, repoTags: string[]): Promise<void> {
  const tags = archiveRepoTags(repoTags);
  const rawConfig = await image.rawConfig();
  const manifest = await image.manifest();
  const layers = await image.layers();
  if (sha256(rawConfig) !== manifest.config.digest) {
    throw new CopaError('DIGEST_MISMATCH', `image config does not match ${manifest.config.digest}`);
  }
  const manifestJson = JSON.stringify(
    dockerArchiveManifest(
      manifest.config.digest,
      layers.map((l) => l.digest),
      tags,
    ),
  );

  const p = pack();
  const piped = pipeline(p, out);
  const entries = (async () => {
    await bufferEntry(p, 'manifest.json', Buffer.from(manifestJson));
    await voidEntry(p, { name: 'blobs/', type: 'directory', mode: 0o755 });
    await voidEntry(p, { name: 'blobs/sha256/', type: 'directory', mode: 0o755 });
    await bufferEntry(p, blobName(manifest.config.digest), rawConfig);
    const written = new Set<string>([manifest.config.digest]);
    for (const layer of layers) {
      if (written.has(layer.digest)) continue;
      written.add(layer.digest);
      const verify = new DigestStream({
        digest: layer.digest,
        size: layer.size,
        what: `layer ${layer.digest}`,
      });
      // pipe() destroys `verify` with the layer stream's error, so the copy below sees it
      const source = pipe(await layer.compressed(), verify, () => undefined);
      await streamEntry(p, { name: blobName(layer.digest), size: layer.size }, source);
    }
    p.finalize();
  })();
  try {
    await Promise.all([entries, piped]);
  } catch (e) {
    p.destroy(e instanceof Error ? e : new Error(String(e)));
    out.destroy();
    await Promise.allSettled([entries, piped]);
    throw withContext(e, 'writing docker archive');
  }
}

type EntryHeader = Partial<Header> & { name: string };
type Sink = ReturnType<Pack['entry']>;

const BASE: Partial<Header> = { mtime: new Date(0), uid: 0, gid: 0, uname: 'root', gname: 'root' };

function voidEntry(p: Pack, header: EntryHeader): Promise<void> {
  return new Promise((resolve, reject) => {
    p.entry({ ...BASE, ...header }, (err) => (err ? reject(err) : resolve()));
  });
}

function bufferEntry(p: Pack, name: string, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    p.entry({ ...BASE, name, type: 'file', mode: 0o644, size: data.length }, data, (err) =>
      err ? reject(err) : resolve(),
    );
  });
}

/** Copy `source` into one tar entry, honouring back-pressure; fails if the entry or the source fails. */
async function streamEntry(p: Pack, header: EntryHeader, source: Readable): Promise<void> {
  let settle: (err?: Error | null) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    settle = (err) => (err ? reject(err) : resolve());
  });
  done.catch(() => undefined); // awaited below; never an unhandled rejection on the error path
  let entry: Sink;
  try {
    entry = p.entry({ ...BASE, type: 'file', mode: 0o644, ...header }, (err) => settle(err));
    // the entry callback reports failures; without a listener streamx would throw its 'error' event
    entry.on('error', () => undefined);
  } catch (e) {
    source.destroy(); // the pack is already gone: release the layer stream
    throw e;
  }
  try {
    for await (const chunk of source) {
      if (!entry.write(chunk)) await drained(entry);
      if (entry.destroyed || entry.destroying) break;
    }
    entry.end(null); // streamx types require an argument; null writes nothing
  } catch (e) {
    entry.destroy(e instanceof Error ? e : new Error(String(e)));
    throw e;
  }
  await done;
}

function drained(w: Sink): Promise<void> {
  return new Promise((resolve) => {
    if (w.destroyed || w.destroying) {
      resolve(); // a destroyed stream reports back-pressure forever and never drains
      return;
    }
    const go = (): void => {
      w.off('drain', go);
      w.off('close', go);
      resolve();
    };
    w.on('drain', go);
    w.on('close', go);
  });
}
