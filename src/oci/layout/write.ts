import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CopaError, withContext } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import { DigestStream, sha256 } from '../digest.js';
import type { Image, ImageIndex, Layer } from '../image.js';
import { isIndexMediaType, MediaType } from '../mediatypes.js';
import { toOciImage, toOciIndex } from '../mutate.js';
import { withLock } from '../../fs/lock.js';
import type { Descriptor, Index } from '../schemas.js';
import {
  blobPath,
  INDEX_FILE,
  isValidRefName,
  LAYOUT_FILE,
  LAYOUT_VERSION,
  readLayoutIndex,
  REF_NAME,
} from './common.js';

export interface LayoutEntry {
  image?: Image;
  index?: ImageIndex;
  /** written as the org.opencontainers.image.ref.name annotation; replaces an entry of that name */
  refName?: string;
}

export interface WriteLayoutOptions {
  logger?: Logger;
  /**
   * Give top-level Docker schema2 images / manifest lists OCI media types (default true, like Copa's
   * OCI exporter; tools such as skopeo 1.9 ignore index.json entries of Docker types). The children
   * of an index are always written byte for byte.
   */
  ociMediaTypes?: boolean;
  /** once fired, the layout is not put in place (nor index.json replaced): nothing new is left behind */
  signal?: AbortSignal;
}

type Mode = 'new' | 'empty' | 'existing';

const tmpSuffix = (): string => `.tmp-${randomBytes(6).toString('hex')}`;

/**
 * Write images / indexes into an OCI image layout directory, atomically: a new directory is built
 * beside `dir` and renamed into place; an existing layout gets its blobs added and index.json
 * replaced by rename (entries merged, same ref.name replaced); an empty directory is filled. On
 * failure nothing new is left behind. Returns the digest of each entry's top manifest (as written,
 * i.e. after any media-type conversion).
 */
export async function writeOciLayout(
  dir: string,
  entries: LayoutEntry[],
  opts: WriteLayoutOptions = {},
): Promise<{ digests: string[] }> {
  checkEntries(entries);
  // two writers of one layout: serialised, so neither loses the other's index.json entries
  const abs = resolve(dir);
  const createdParent = await mkdir(dirname(abs), { recursive: true });
  try {
    return await withLock(
      abs,
      {
        what: `the OCI layout ${dir}`,
        lockPath: join(dirname(abs), `.${basename(abs)}.lock`),
        ...(opts.logger ? { logger: opts.logger } : {}),
      },
      () => writeLocked(dir, entries, opts),
    );
  } catch (e) {
    if (createdParent !== undefined) await rm(createdParent, { recursive: true, force: true });
    throw e;
  }
}

async function writeLocked(
  dir: string,
  entries: LayoutEntry[],
  opts: WriteLayoutOptions,
): Promise<{ digests: string[] }> {
  const mode = await layoutMode(dir);
  let work = dir;
  let writer: BlobWriter | undefined;
  try {
    if (mode === 'new') {
      work = await mkdtemp(join(dirname(dir), `.${basename(dir)}.tmp-`));
    }
    writer = new BlobWriter(work, opts.logger ?? silentLogger);
    const index: Index =
      mode === 'existing'
        ? await readLayoutIndex(dir)
        : { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
    if (mode !== 'existing') {
      await writer.newFile(join(work, LAYOUT_FILE), JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION }));
    }
    await writer.mkdirs();
    const digests: string[] = [];
    const oci = opts.ociMediaTypes !== false;
    for (const entry of entries) {
      const desc = entry.image
        ? await writer.image(oci ? await toOciImage(entry.image) : entry.image)
        : await writer.index(oci ? await toOciIndex(entry.index as ImageIndex) : (entry.index as ImageIndex));
      if (entry.refName !== undefined) desc.annotations = { [REF_NAME]: entry.refName };
      mergeEntry(index, desc);
      digests.push(desc.digest);
    }
    if (opts.signal?.aborted) throw new CopaError('CANCELLED', 'operation canceled');
    await writer.replaceFile(join(work, INDEX_FILE), JSON.stringify(index));
    if (mode === 'new') {
      await chmod(work, 0o755);
      await rename(work, dir);
    }
    return { digests };
  } catch (e) {
    if (mode === 'new') {
      if (work !== dir) await rm(work, { recursive: true, force: true });
    } else {
      await writer?.rollback();
    }
    throw withContext(e, `writing OCI layout ${dir}`);
  }
}

function checkEntries(entries: LayoutEntry[]): void {
  for (const e of entries) {
    if ((e.image === undefined) === (e.index === undefined)) {
      throw new CopaError('INTERNAL', 'an OCI layout entry needs exactly one of image or index');
    }
    if (e.refName !== undefined && !isValidRefName(e.refName)) {
      throw new CopaError('USAGE', `invalid OCI layout ref name ${JSON.stringify(e.refName)}`, {
        hint: 'use letters, digits and . _ - : @ + separators, e.g. 1.27-patched',
      });
    }
  }
}

async function layoutMode(dir: string): Promise<Mode> {
  let isDir: boolean;
  try {
    isDir = (await lstat(dir)).isDirectory();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'new';
    throw withContext(e, `checking ${dir}`);
  }
  const names = isDir ? await readdir(dir) : [];
  if (isDir && names.length === 0) return 'empty';
  if (isDir && names.includes(LAYOUT_FILE)) return 'existing';
  throw new CopaError('USAGE', `${dir} exists and is not an OCI image layout`, {
    hint: 'choose a new or empty directory, or an existing OCI layout to add to',
  });
}

/** Replace entries with the same ref.name; an unnamed entry is added once per digest. */
function mergeEntry(index: Index, desc: Descriptor): void {
  const name = desc.annotations?.[REF_NAME];
  index.manifests = index.manifests.filter((d) =>
    name !== undefined
      ? d.annotations?.[REF_NAME] !== name
      : !(d.digest === desc.digest && d.annotations?.[REF_NAME] === undefined),
  );
  index.manifests.push(desc);
}

/** Writes blobs into `root`, remembering what it created so a failure can remove it again. */
class BlobWriter {
  private readonly created: string[] = [];
  private readonly done = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly log: Logger,
  ) {}

  async mkdirs(): Promise<void> {
    for (const d of [join(this.root, 'blobs'), join(this.root, 'blobs', 'sha256')]) {
      try {
        await mkdir(d);
        this.created.push(d);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
  }

  async image(img: Image): Promise<Descriptor> {
    const manifest = await img.manifest();
    const layers = await img.layers();
    const listed = manifest.layers.map((d) => d.digest).join();
    if (layers.map((l) => l.digest).join() !== listed) {
      throw new CopaError('INTERNAL', `the layers of image ${await img.digest()} differ from its manifest`);
    }
    for (const layer of layers) await this.layer(layer);
    await this.buffer(await img.rawConfig(), manifest.config.digest, 'image config');
    const raw = await img.rawManifest();
    const digest = await this.buffer(raw, await img.digest(), 'image manifest');
    return { mediaType: img.mediaType, digest, size: raw.length };
  }

  async index(idx: ImageIndex): Promise<Descriptor> {
    for (const child of (await idx.index()).manifests) {
      if (isIndexMediaType(child.mediaType)) {
        throw new CopaError('REGISTRY', `nested image index ${child.digest} is not supported`);
      }
      const written = await this.image(await idx.image(child));
      if (written.digest !== child.digest) {
        throw new CopaError(
          'DIGEST_MISMATCH',
          `child manifest ${child.digest} of the index has digest ${written.digest}`,
        );
      }
    }
    const raw = await idx.rawManifest();
    const digest = await this.buffer(raw, await idx.digest(), 'image index');
    return { mediaType: idx.mediaType, digest, size: raw.length };
  }

  private async present(digest: string, size: number): Promise<boolean> {
    if (this.done.has(digest)) return true;
    try {
      const st = await stat(blobPath(this.root, digest));
      if (st.isFile() && st.size === size) {
        this.done.add(digest);
        return true;
      }
    } catch {
      // not there yet
    }
    return false;
  }

  private async layer(layer: Layer): Promise<void> {
    if (await this.present(layer.digest, layer.size)) return;
    const final = blobPath(this.root, layer.digest);
    const tmp = final + tmpSuffix();
    this.created.push(tmp);
    try {
      const verify = new DigestStream({
        digest: layer.digest,
        size: layer.size,
        what: `layer ${layer.digest}`,
      });
      await pipeline(await layer.compressed(), verify, createWriteStream(tmp, { flags: 'wx' }));
    } catch (e) {
      throw withContext(e, `writing layer ${layer.digest}`);
    }
    await this.commit(tmp, final);
    this.done.add(layer.digest);
    this.log.debug(`oci layout: wrote layer ${layer.digest} (${layer.size} bytes)`);
  }

  /** Write a small blob whose digest must equal `expected`; returns the digest. */
  private async buffer(data: Buffer, expected: string, what: string): Promise<string> {
    const digest = sha256(data);
    if (digest !== expected) {
      throw new CopaError('DIGEST_MISMATCH', `${what} bytes have digest ${digest}, expected ${expected}`);
    }
    if (await this.present(digest, data.length)) return digest;
    const final = blobPath(this.root, digest);
    const tmp = final + tmpSuffix();
    await this.newFile(tmp, data);
    await this.commit(tmp, final);
    this.done.add(digest);
    return digest;
  }

  private async commit(tmp: string, final: string): Promise<void> {
    const existed = await stat(final).then(
      () => true,
      () => false,
    );
    await rename(tmp, final);
    this.created[this.created.indexOf(tmp)] = final;
    // a pre-existing (wrong-sized) blob was replaced, not created: never remove it on rollback
    if (existed) this.created.splice(this.created.indexOf(final), 1);
  }

  async newFile(path: string, data: string | Buffer): Promise<void> {
    this.created.push(path);
    try {
      await writeFile(path, data, { flag: 'wx' });
    } catch (e) {
      // someone else's file: never remove it on rollback
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') this.created.pop();
      throw e;
    }
  }

  /** Write via a temporary file and rename over `path` (the only non-additive change). */
  async replaceFile(path: string, data: string): Promise<void> {
    const tmp = path + tmpSuffix();
    await this.newFile(tmp, data);
    await rename(tmp, path);
    this.created.splice(this.created.indexOf(tmp), 1);
  }

  /** Remove everything this writer created, newest first. */
  async rollback(): Promise<void> {
    for (const p of this.created.reverse()) await rm(p, { recursive: true, force: true });
    this.created.length = 0;
  }
}
