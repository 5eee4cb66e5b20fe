/**
 * Everything a cache dir holds, as items that can be listed and pruned one by one:
 *
 *   layers    layers/sha256/<hex>         extracted layers (LayerCache)
 *   packages  pkg/<key>                   package indexes and downloaded packages of one distro/release/sources
 *   work      tmp/copa-debug-…            work dirs kept by --debug
 *             tmp/<name>-<pid>-…          work dirs of runs (in use while that process lives)
 *
 * Layers and package caches are in use while a run's marker names them (layers/inuse.ts).
 */
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { diskUsage, LayerCache } from '../layers/cache.js';
import { itemsInUse, layerItem, packagesItem } from '../layers/inuse.js';
import { digestHex } from '../oci/digest.js';
import { processAlive } from '../fs/pid.js';

export type CachePart = 'layers' | 'packages' | 'work';

export interface CacheItem {
  part: CachePart;
  /** diffID, package cache key, or work dir name */
  id: string;
  path: string;
  bytes: number;
  lastUsed: Date;
  /** a running copa process uses it: never pruned */
  inUse: boolean;
}

async function names(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** The file whose mtime says when a package cache was last used (PackageCache.open touches it). */
export const PACKAGES_USED = 'used';

/** Size of a tree that another process may be changing right now (a vanishing entry counts as 0). */
async function sizeOf(path: string): Promise<number> {
  try {
    return await diskUsage(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
}

export async function listCache(dir: string): Promise<CacheItem[]> {
  const items: CacheItem[] = [];
  const layers = new LayerCache({ dir });
  const used = itemsInUse(dir);
  for (const e of (await layers.report()).entries) {
    items.push({
      part: 'layers',
      id: e.diffID,
      path: layers.layerDir(e.diffID),
      bytes: e.bytes,
      lastUsed: e.lastUsed,
      inUse: used.has(layerItem(digestHex(e.diffID))),
    });
  }
  for (const key of await names(join(dir, 'pkg'))) {
    const path = join(dir, 'pkg', key);
    if (key.includes('.') || !(await lstat(path)).isDirectory()) continue; // <key>.lock, temp names
    const touched = await stat(join(path, PACKAGES_USED)).catch(() => stat(path));
    items.push({
      part: 'packages',
      id: key,
      path,
      bytes: await sizeOf(path),
      lastUsed: touched.mtime,
      inUse: used.has(packagesItem(key)),
    });
  }
  for (const name of await names(join(dir, 'tmp'))) {
    const path = join(dir, 'tmp', name);
    const pid = /^copa-debug-/.test(name) ? undefined : /-(\d+)-[0-9a-z]+$/.exec(name)?.[1];
    const st = await stat(path).catch(() => undefined);
    if (!st) continue; // removed meanwhile (a run that just ended)
    items.push({
      part: 'work',
      id: name,
      path,
      bytes: await sizeOf(path),
      lastUsed: st.mtime,
      inUse: pid !== undefined && processAlive(Number(pid)),
    });
  }
  return items;
}
