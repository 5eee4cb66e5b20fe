/** Which cache items a prune removes (pure): never one in use; then by --all, --older-than, --keep-storage. */
import type { CacheItem } from './items.js';

export interface PrunePolicy {
  /** everything not in use */
  all?: boolean;
  /** items unused for longer than this */
  olderThanMs?: number;
  /** then the least recently used items until the cache holds at most this many bytes */
  keepBytes?: number;
}

export function choosePrune(items: readonly CacheItem[], policy: PrunePolicy, now: number): CacheItem[] {
  const free = items.filter((i) => !i.inUse);
  if (policy.all) return [...free];
  const chosen = new Set<CacheItem>();
  if (policy.olderThanMs !== undefined) {
    for (const i of free) if (now - i.lastUsed.getTime() > policy.olderThanMs) chosen.add(i);
  }
  if (policy.keepBytes !== undefined) {
    let total = items.filter((i) => !chosen.has(i)).reduce((n, i) => n + i.bytes, 0);
    // work dirs kept by --debug are the user's: a size cap leaves them alone
    const lru = free
      .filter((i) => !chosen.has(i) && !(i.part === 'work' && i.id.startsWith('copa-debug-')))
      .sort((a, b) => a.lastUsed.getTime() - b.lastUsed.getTime());
    for (const i of lru) {
      if (total <= policy.keepBytes) break;
      chosen.add(i);
      total -= i.bytes;
    }
  }
  return items.filter((i) => chosen.has(i));
}

const UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
  TIB: 2 ** 40,
};

/** `2GB`, `500MiB`, `1.5GiB`, `1073741824` -> bytes (buildctl prune --keep-storage style); undefined if not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?$/i.exec(text.trim());
  if (!m?.[1]) return undefined;
  const unit = UNITS[(m[2] ?? '').toUpperCase()];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
