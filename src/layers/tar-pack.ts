/**
 * Packing a layer: tar entries -> (digest of the tar = diffID) -> gzip/zstd/none -> (digest of the
 * blob) -> file, in one streaming pass. Shared by the upperdir writer and the snapshot fallback.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  createWriteStream,
  openSync,
  readlinkSync,
  readSync,
  type Stats,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CopaError, withContext } from '../errors.js';
import { DigestStream, throttledBytes } from '../oci/digest.js';
import { BlockGzip } from './block-gzip.js';
import type { Logger } from '../log.js';
import type { LayerCompression } from '../oci/mediatypes.js';
import { nativeZstd } from './decompress.js';
import { opaquePath, whiteoutPath } from './paths.js';
import { BLOCK, encodeHeader, padding, type EntryHeader } from './tar-header.js';
import { isPortableXattr, type Xattrs } from './xattr.js';

export interface PackItem {
  header: EntryHeader;
  /** file whose content follows the header (regular files only) */
  source?: string;
  /** or the content itself, streamed (exactly header.size bytes; regular files only) */
  body?: AsyncIterable<Buffer> | Iterable<Buffer>;
}

export interface WrittenLayer {
  path: string;
  /** sha256 of the blob as written (compressed) */
  digest: string;
  /** sha256 of the uncompressed tar */
  diffID: string;
  size: number;
  uncompressedSize: number;
  compression: LayerCompression;
}

export interface PackOptions {
  compression: LayerCompression;
  /** clamp every mtime to this (seconds since the epoch), for reproducible layers */
  sourceDateEpoch?: number;
  /** paths (relative, no leading slash) to leave out; a directory leaves out its subtree */
  exclude?: (relPath: string) => boolean;
  logger?: Logger;
  /** uncompressed bytes written so far */
  onBytes?: (written: number) => void;
}

/** Per-layer state for turning file system objects into entries: hardlinks and the mtime clamp. */
export class EntryBuilder {
  private readonly inodes = new Map<string, string>();

  constructor(private readonly sourceDateEpoch: number | undefined) {}

  mtime(st: Stats): number {
    const t = Math.floor(st.mtimeMs / 1000);
    return this.sourceDateEpoch === undefined ? t : Math.min(t, this.sourceDateEpoch);
  }

  /** `.wh.<name>` for a deleted `rel`; `st` gives the time (the whiteout's own, or its directory's) */
  whiteout(rel: string, st: Stats): PackItem {
    return { header: marker(whiteoutPath(rel), this.mtime(st)) };
  }

  /** `<dir>/.wh..wh..opq`, written right after the directory's own entry */
  opaque(dirRel: string, st: Stats): PackItem {
    return { header: marker(opaquePath(dirRel), this.mtime(st)) };
  }

  /** The entry for a file system object, or undefined for what tar cannot hold (sockets). */
  item(abs: string, rel: string, st: Stats, xattrs: Xattrs | undefined): PackItem | undefined {
    const base = {
      name: rel,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      size: 0,
      mtime: this.mtime(st),
    };
    const xa = [...(xattrs ?? [])]
      .filter(([n]) => isPortableXattr(n))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const withX = xa.length > 0 ? { xattrs: xa } : {};
    if (st.isDirectory()) return { header: { ...base, ...withX, type: 'dir' } };
    if (st.isSymbolicLink())
      return { header: { ...base, ...withX, type: 'symlink', linkname: readlinkSync(abs) } };
    if (st.isFile()) {
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        const first = this.inodes.get(key);
        if (first !== undefined) return { header: { ...base, type: 'link', linkname: first } };
        this.inodes.set(key, rel);
      }
      return { header: { ...base, ...withX, type: 'file', size: st.size }, source: abs };
    }
    const dev = { devmajor: devMajor(st.rdev), devminor: devMinor(st.rdev) };
    if (st.isCharacterDevice()) return { header: { ...base, ...withX, ...dev, type: 'char' } };
    if (st.isBlockDevice()) return { header: { ...base, ...withX, ...dev, type: 'block' } };
    if (st.isFIFO()) return { header: { ...base, ...withX, type: 'fifo' } };
    return undefined;
  }
}

function marker(name: string, mtime: number): EntryHeader {
  return { name, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime };
}

export function devMajor(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}

export function devMinor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
}

const READ_CHUNK = 1 << 20;

/**
 * A file's bytes, read synchronously: the compressor works on the thread pool meanwhile, and a
 * pool round trip per read cost more than the read (a layer is mostly small files).
 */
function* fileContent(path: string, size: number): Generator<Buffer> {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    let left = size;
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(left, READ_CHUNK));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      left -= n;
      yield buf.subarray(0, n);
    }
    if (left !== 0 || readSync(fd, Buffer.alloc(1), 0, 1, null) !== 0) {
      throw new CopaError('INTERNAL', `${path} changed while it was being written into the layer`);
    }
  } finally {
    closeSync(fd);
  }
}

async function* tarBytes(items: AsyncIterable<PackItem> | Iterable<PackItem>): AsyncGenerator<Buffer> {
  for await (const item of items) {
    yield encodeHeader(item.header);
    if ((item.source !== undefined || item.body !== undefined) && item.header.type === 'file') {
      yield* item.source !== undefined ? fileContent(item.source, item.header.size) : (item.body ?? []);
      const pad = padding(item.header.size);
      if (pad.length > 0) yield pad;
    }
  }
  yield Buffer.alloc(2 * BLOCK);
}

/**
 * The gzip level of new layers: COPA_GZIP_LEVEL (1-9), default 4. Measured on the bench's update-all
 * layer (30 MB tar): level 4 is 2 % larger than 6 and takes 30 % less CPU; below 4 the layer grows
 * faster than the time falls.
 */
export function gzipLevel(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.COPA_GZIP_LEVEL);
  return Number.isInteger(n) && n >= 1 && n <= 9 ? n : DEFAULT_GZIP_LEVEL;
}

export const DEFAULT_GZIP_LEVEL = 4;

/** zstd through node:zlib (Node >= 22.15); gzip is BlockGzip. */
function zstdCompressor() {
  const native = nativeZstd();
  if (!native) {
    throw new CopaError('ENVIRONMENT', 'zstd layer compression needs Node.js 22.15 or newer', {
      hint: 'use gzip compression, or run copa with a newer Node.js',
    });
  }
  return native.createZstdCompress();
}

/** Write the entries as a layer blob to `outFile`; digest and diffID come from the same pass. */
export async function packLayer(
  items: AsyncIterable<PackItem> | Iterable<PackItem>,
  outFile: string,
  compression: LayerCompression,
  onBytes?: (written: number) => void,
): Promise<WrittenLayer> {
  const diff = createHash('sha256');
  let uncompressedSize = 0;
  const throttled = onBytes ? throttledBytes(onBytes) : undefined;
  const tell = (): void => throttled?.(uncompressedSize);
  const blob = new DigestStream();
  try {
    if (compression === 'zstd') {
      const counted = async function* (): AsyncGenerator<Buffer> {
        for await (const chunk of tarBytes(items)) {
          diff.update(chunk);
          uncompressedSize += chunk.length;
          tell();
          yield chunk;
        }
      };
      await pipeline([
        Readable.from(counted(), { objectMode: false }),
        zstdCompressor(),
        blob,
        createWriteStream(outFile),
      ]);
    } else {
      const out = createWriteStream(outFile);
      const done = pipeline(blob, out);
      const failed = done.then(() => new Promise<never>(() => {})); // rejects only if writing fails
      failed.catch(() => {});
      const sink = (chunk: Buffer): Promise<void> | void =>
        blob.write(chunk)
          ? undefined
          : Promise.race([new Promise<void>((r) => blob.once('drain', () => r())), failed]);
      const gzip = compression === 'gzip' ? new BlockGzip(sink, gzipLevel()) : undefined;
      for await (const chunk of tarBytes(items)) {
        diff.update(chunk);
        uncompressedSize += chunk.length;
        tell();
        await (gzip ? gzip.write(chunk) : sink(chunk));
      }
      await gzip?.end();
      blob.end();
      await done;
    }
  } catch (e) {
    await rm(outFile, { force: true });
    throw e instanceof CopaError ? e : withContext(e, `writing layer ${outFile}`);
  }
  return {
    path: outFile,
    digest: blob.digest(),
    diffID: `sha256:${diff.digest('hex')}`,
    size: blob.bytes,
    uncompressedSize,
    compression,
  };
}
