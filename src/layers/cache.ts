/**
 * The layer cache: each layer extracted once per diffID, in overlay form, usable directly as an
 * overlayfs lowerdir. Layout under the cache dir:
 *
 *   layers/sha256/<hex>/      the extracted layer (complete, or absent: it appears by rename)
 *   layers/meta/<hex>.json    {diffID, bytes}; its mtime is the last use
 *   layers/meta/<hex>.xattrs.json  the layer's extended attributes, written on first use (xattr-index.ts)
 *   layers/tmp/<what>-<pid>-<rand>/  extractions in progress and directories being pruned
 *   tmp/<prefix>-<pid>-<rand>/       work directories handed out by tempDir()
 *
 * Concurrency across processes: one process extracts a layer while the others wait on
 * `layers/locks/<hex>.lock` (fs/lock.ts); the extraction goes to its own temp dir and is renamed into
 * place, so a half-extracted layer is never visible (and a second copy, should a stale lock be taken
 * over, is discarded: rename(2) onto a non-empty directory fails). Temp dirs carry the
 * creating PID, and cleanStale() removes those whose process is gone.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, readdirSync } from 'node:fs';
import {
  chmod,
  lstat,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { z } from 'zod';
import { CopaError, withContext } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { byteCounter, DigestStream, digestHex } from '../oci/digest.js';
import type { Layer } from '../oci/image.js';
import { explainByDigest } from './corrupt.js';
import { decompress } from './decompress.js';
import { extractLayer } from './extract.js';
import { withLock } from '../fs/lock.js';
import { itemsInUse, layerItem, markInUse } from './inuse.js';
import { processAlive } from '../fs/pid.js';
import { layersDirName } from './ovl.js';
import { xattrIndexPath } from './xattr-index.js';

export interface LayerCacheOptions {
  dir?: string;
  logger?: Logger;
}

export interface CacheEntry {
  diffID: string;
  bytes: number;
  lastUsed: Date;
}

const MetaSchema = z.object({
  diffID: z.string().regex(/^sha256:[a-f0-9]{64}$/),
  bytes: z.number().int().nonnegative(),
});
type Meta = z.infer<typeof MetaSchema>;

/** `<prefix>-<pid>-<suffix>`: ours (tempDir) and the engine's work dirs (`copa-run-<pid>-<time>`) */
const TEMP_NAME = /-(\d+)-[0-9a-z]+$/;

/** `$COPA_CACHE_DIR`, else `$XDG_CACHE_HOME/copa`, else `~/.cache/copa`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.COPA_CACHE_DIR) return env.COPA_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'copa');
  return join(homedir(), '.cache', 'copa');
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** Disk usage of a tree (allocated blocks, each inode once); synchronous calls, as in extraction. */
export async function diskUsage(dir: string): Promise<number> {
  const seen = new Set<number>();
  let total = 0;
  function walk(p: string): void {
    const st = lstatSync(p);
    if (!seen.has(st.ino)) {
      seen.add(st.ino);
      total += st.blocks * 512;
    }
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(join(p, name));
  }
  walk(dir);
  return Promise.resolve(total);
}

export class LayerCache {
  readonly dir: string;
  private readonly logger: Logger;
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(opts: LayerCacheOptions = {}) {
    this.dir = opts.dir ?? defaultCacheDir();
    this.logger = opts.logger ?? silentLogger;
  }

  /** Where the extracted layer with this diffID lives (whether or not it is there yet). */
  layerDir(diffID: string): string {
    return join(this.dir, layersDirName(), 'sha256', digestHex(diffID));
  }

  private metaPath(diffID: string): string {
    return join(this.dir, layersDirName(), 'meta', `${digestHex(diffID)}.json`);
  }

  private async newTemp(parent: string, prefix: string): Promise<string> {
    await mkdir(parent, { recursive: true });
    const path = join(parent, `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(path, { mode: 0o700 });
    return path;
  }

  /** The tmp/ area (for callers that name their own work dirs `<prefix>-<pid>-<suffix>`). */
  tempRoot(): string {
    return join(this.dir, 'tmp');
  }

  /** A fresh work directory under the cache's tmp/ area, named with our PID (see cleanStale). */
  tempDir(prefix: string): Promise<string> {
    if (!/^[A-Za-z0-9_.]+$/.test(prefix))
      throw new CopaError('INTERNAL', `bad temp dir prefix ${JSON.stringify(prefix)}`);
    return this.newTemp(this.tempRoot(), prefix);
  }

  /** The extracted (overlay-form) directory of `layer`, extracting it if no process has yet. */
  ensure(layer: Layer, onBytes?: (compressedBytes: number) => void): Promise<string> {
    markInUse(this.dir, layerItem(digestHex(layer.diffID))); // before it exists: a prune meanwhile leaves it alone
    const running = this.inflight.get(layer.diffID);
    if (running) return running;
    const p = this.ensureUncached(layer, onBytes).finally(() => this.inflight.delete(layer.diffID));
    this.inflight.set(layer.diffID, p);
    return p;
  }

  private async ensureUncached(layer: Layer, onBytes?: (n: number) => void): Promise<string> {
    const final = this.layerDir(layer.diffID);
    if (await isDir(final)) {
      await this.touch(layer.diffID);
      onBytes?.(layer.size);
      return final;
    }
    // one process extracts, the others wait for it (the lock frees itself if that process dies)
    const hex = digestHex(layer.diffID);
    return withLock(
      join(this.dir, layersDirName(), 'locks', hex),
      { what: `layer ${layer.diffID} (being extracted by another copa process)`, logger: this.logger },
      async () => {
        if (await isDir(final)) {
          await this.touch(layer.diffID);
          return final;
        }
        return this.extract(layer, final, onBytes);
      },
    );
  }

  private async extract(layer: Layer, final: string, onBytes?: (n: number) => void): Promise<string> {
    const work = await this.newTemp(join(this.dir, layersDirName(), 'tmp'), 'extract');
    try {
      await chmod(work, 0o755); // the layer's own "./" entry, if any, sets it later
      const what = `layer ${layer.diffID}`;
      this.logger.debug(`extracting ${what} (${layer.size} bytes compressed)`);
      const blob = await layer.compressed();
      const verify = new DigestStream({ digest: layer.diffID, what: `${what} (uncompressed)` });
      const counted = onBytes ? pipeline(blob, byteCounter(onBytes), () => {}) : blob;
      const tar = pipeline(decompress(counted), verify, () => {});
      const { entries } = await extractLayer(tar, work, { mode: 'overlay', logger: this.logger, what });
      const bytes = await diskUsage(work);
      await mkdir(join(this.dir, layersDirName(), 'sha256'), { recursive: true });
      try {
        await rename(work, final);
      } catch (e) {
        if (errno(e) !== 'ENOTEMPTY' && errno(e) !== 'EEXIST') throw e;
        this.logger.debug(`${what} was extracted by another process meanwhile`);
        await rm(work, { recursive: true, force: true });
      }
      await this.writeMeta({ diffID: layer.diffID, bytes });
      this.logger.debug(`cached ${what}: ${entries} entries, ${bytes} bytes`);
      return final;
    } catch (e) {
      await rm(work, { recursive: true, force: true });
      throw await explainByDigest(
        layer,
        e instanceof CopaError ? e : withContext(e, `caching layer ${layer.diffID}`),
      );
    }
  }

  private async writeMeta(meta: Meta): Promise<void> {
    const path = this.metaPath(meta.diffID);
    await mkdir(join(this.dir, layersDirName(), 'meta'), { recursive: true });
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(meta));
    await rename(tmp, path);
  }

  private async readMeta(diffID: string): Promise<{ meta: Meta; lastUsed: Date }> {
    const path = this.metaPath(diffID);
    try {
      const raw = await readFile(path, 'utf8');
      const meta = MetaSchema.parse(JSON.parse(raw));
      return { meta, lastUsed: (await stat(path)).mtime };
    } catch (e) {
      if (errno(e) !== 'ENOENT' && !(e instanceof SyntaxError) && !(e instanceof z.ZodError)) throw e;
      const meta = { diffID, bytes: await diskUsage(this.layerDir(diffID)) };
      await this.writeMeta(meta);
      return { meta, lastUsed: new Date() };
    }
  }

  /** The bytes the cached layers take on disk (their metadata; measured once where it is missing). */
  async sizeOf(diffIDs: string[]): Promise<number> {
    const sizes = await Promise.all(diffIDs.map(async (d) => (await this.readMeta(d)).meta.bytes));
    return sizes.reduce((a, b) => a + b, 0);
  }

  /** Mark a cached layer as used now. */
  private async touch(diffID: string): Promise<void> {
    const now = new Date();
    try {
      await utimes(this.metaPath(diffID), now, now);
    } catch (e) {
      if (errno(e) !== 'ENOENT') throw e;
      await this.readMeta(diffID);
    }
  }

  async report(): Promise<{ entries: CacheEntry[]; totalBytes: number }> {
    const entries: CacheEntry[] = [];
    for (const hex of await listDir(join(this.dir, layersDirName(), 'sha256'))) {
      if (!/^[a-f0-9]{64}$/.test(hex)) continue;
      const diffID = `sha256:${hex}`;
      const { meta, lastUsed } = await this.readMeta(diffID);
      entries.push({ diffID, bytes: meta.bytes, lastUsed });
    }
    entries.sort((a, b) => (a.diffID < b.diffID ? -1 : 1));
    return { entries, totalBytes: entries.reduce((n, e) => n + e.bytes, 0) };
  }

  /**
   * Remove one cached layer unless a process uses it (see inuse.ts): moved out of sight first, so
   * ensure() never sees a half-deleted layer; put back if a run marked it meanwhile. Returns the bytes freed.
   */
  async remove(diffID: string): Promise<number> {
    const hex = digestHex(diffID);
    const marked = (): boolean => itemsInUse(this.dir).has(layerItem(hex));
    if (marked()) return 0;
    const { meta } = await this.readMeta(diffID);
    const trash = join(
      this.dir,
      layersDirName(),
      'tmp',
      `prune-${process.pid}-${randomBytes(4).toString('hex')}`,
    );
    await mkdir(join(this.dir, layersDirName(), 'tmp'), { recursive: true });
    try {
      await rename(this.layerDir(diffID), trash);
    } catch (e) {
      if (errno(e) === 'ENOENT') return 0; // pruned by someone else
      throw e;
    }
    if (marked()) {
      await rename(trash, this.layerDir(diffID)).catch(() => rm(trash, { recursive: true, force: true }));
      return 0;
    }
    await rm(this.metaPath(diffID), { force: true });
    const xattrIndex = xattrIndexPath(this.layerDir(diffID));
    if (xattrIndex) await rm(xattrIndex, { force: true });
    await rm(trash, { recursive: true, force: true });
    return meta.bytes;
  }

  /** Remove layers unused for longer than `olderThanMs`, or all of them (those in use stay). */
  async prune(opts: {
    olderThanMs?: number;
    all?: boolean;
  }): Promise<{ removed: number; freedBytes: number }> {
    const now = Date.now();
    let removed = 0;
    let freedBytes = 0;
    for (const entry of (await this.report()).entries) {
      const old = opts.olderThanMs !== undefined && now - entry.lastUsed.getTime() > opts.olderThanMs;
      if (!opts.all && !old) continue;
      const freed = await this.remove(entry.diffID);
      if (freed > 0) {
        removed++;
        freedBytes += freed;
      }
    }
    return { removed, freedBytes };
  }

  /** Remove temp and half-extracted directories left by processes that are gone. */
  async cleanStale(): Promise<{ removed: string[] }> {
    const removed: string[] = [];
    for (const parent of [join(this.dir, 'tmp'), join(this.dir, layersDirName(), 'tmp')]) {
      for (const name of await listDir(parent)) {
        const pid = TEMP_NAME.exec(name)?.[1];
        if (pid === undefined || processAlive(Number(pid))) continue;
        await rm(join(parent, name), { recursive: true, force: true });
        removed.push(join(parent, name));
      }
    }
    if (removed.length > 0) this.logger.debug(`removed ${removed.length} stale temp dirs`);
    return { removed };
  }
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch (e) {
    if (errno(e) === 'ENOENT') return false;
    throw e;
  }
}

async function listDir(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch (e) {
    if (errno(e) === 'ENOENT') return [];
    throw e;
  }
}
