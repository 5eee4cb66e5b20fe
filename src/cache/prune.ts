/**
 * Removing cache items, and the default size cap every patch run enforces at its end
 * (COPA_CACHE_MAX, default 20 GiB; `off` turns it off).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CopaError } from '../errors.js';
import { withLock } from '../fs/lock.js';
import { LayerCache } from '../layers/cache.js';
import { silentLogger, type Logger } from '../log.js';
import { listCache, type CacheItem } from './items.js';
import { choosePrune, formatBytes, parseSize, type PrunePolicy } from './policy.js';

export const DEFAULT_CACHE_MAX = 20 * 2 ** 30;

/** The default cap in bytes, or undefined when COPA_CACHE_MAX=off. */
export function cacheMaxBytes(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.COPA_CACHE_MAX;
  if (raw === undefined || raw === '') return DEFAULT_CACHE_MAX;
  if (raw === 'off') return undefined;
  const n = parseSize(raw);
  if (n === undefined) {
    throw new CopaError('USAGE', `COPA_CACHE_MAX=${raw} is not a size`, {
      hint: 'e.g. COPA_CACHE_MAX=20GiB, 500GB, or off',
    });
  }
  return n;
}

async function removeDir(dir: string, parent: string): Promise<void> {
  // out of sight first: nothing ever reads a half-removed directory under its real name
  const trash = join(parent, `prune-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(parent, { recursive: true });
  try {
    await rename(dir, trash);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  await rm(trash, { recursive: true, force: true });
}

/** Remove the items; returns those really removed (a layer a run started using meanwhile stays). */
export async function removeItems(
  dir: string,
  items: readonly CacheItem[],
  logger: Logger,
): Promise<CacheItem[]> {
  const layers = new LayerCache({ dir, logger });
  const done: CacheItem[] = [];
  for (const item of items) {
    if (item.part === 'layers') {
      if ((await layers.remove(item.id)) > 0) done.push(item);
    } else if (item.part === 'packages') {
      // runs read a package cache under its lock: take it, so none is copying from it now
      await withLock(
        item.path,
        { what: `the package cache ${item.id}`, logger, lockPath: `${item.path}.lock` },
        () => removeDir(item.path, join(dir, 'tmp')),
      );
      done.push(item);
    } else {
      await rm(item.path, { recursive: true, force: true });
      done.push(item);
    }
  }
  return done;
}

export async function prune(
  dir: string,
  policy: PrunePolicy,
  logger: Logger = silentLogger,
): Promise<{ removed: CacheItem[]; kept: CacheItem[] }> {
  const items = await listCache(dir);
  const removed = await removeItems(dir, choosePrune(items, policy, Date.now()), logger);
  return { removed, kept: items.filter((i) => !removed.includes(i)) };
}

/** At the end of a run: keep the cache under its cap (least recently used first, nothing in use). */
export async function enforceCap(dir: string, logger: Logger): Promise<void> {
  const cap = cacheMaxBytes();
  if (cap === undefined) return;
  const items = await listCache(dir);
  const total = items.reduce((n, i) => n + i.bytes, 0);
  if (total <= cap) return;
  const r = await removeItems(dir, choosePrune(items, { keepBytes: cap }, Date.now()), logger);
  const freed = r.reduce((n, i) => n + i.bytes, 0);
  logger.info(
    `Cache ${dir} was over its cap (${formatBytes(total)} > ${formatBytes(cap)}, COPA_CACHE_MAX): removed ${r.length} least recently used item(s), ${formatBytes(freed)}`,
  );
}
