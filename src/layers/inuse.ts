/**
 * "This process uses that cache item": a marker file `inuse/<item>.<pid>` (`layer-<hex>`, `pkg-<key>`)
 * written when a run takes the item from the cache and removed when the process exits. Pruning leaves
 * an item alone while a marker of a live process names it, or one younger than
 * COPA_CACHE_INUSE_TTL_HOURS (default 6: a copa process in another container shares the cache but not
 * the PID space, so its PIDs cannot be checked).
 */
import { mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../fs/pid.js';

const DEFAULT_TTL_MS = 6 * 3_600_000;
const held = new Set<string>();
let hooked = false;

export function inUseTtlMs(env: NodeJS.ProcessEnv = process.env): number {
  const h = Number(env.COPA_CACHE_INUSE_TTL_HOURS);
  return Number.isFinite(h) && h >= 0 && env.COPA_CACHE_INUSE_TTL_HOURS !== ''
    ? h * 3_600_000
    : DEFAULT_TTL_MS;
}

function markerDir(cacheDir: string): string {
  return join(cacheDir, 'inuse');
}

export const layerItem = (hex: string): string => `layer-${hex}`;
export const packagesItem = (key: string): string => `pkg-${key}`;

/** Mark `item` as used by this process (again: the marker's time is refreshed). */
export function markInUse(cacheDir: string, item: string): void {
  const dir = markerDir(cacheDir);
  const file = join(dir, `${item}.${process.pid}`);
  if (held.has(file)) {
    const now = new Date();
    utimesSync(file, now, now);
    return;
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, '');
  held.add(file);
  if (!hooked) {
    hooked = true;
    process.once('exit', releaseAll);
  }
}

/** Remove this process's markers (at exit; also callable by tests). */
export function releaseAll(): void {
  for (const f of held) rmSync(f, { force: true });
  held.clear();
}

/** The items some process uses now; stale markers (dead PID, older than the TTL) are removed. */
export function itemsInUse(cacheDir: string, now = Date.now(), ttlMs = inUseTtlMs()): Set<string> {
  const used = new Set<string>();
  let names: string[];
  try {
    names = readdirSync(markerDir(cacheDir));
  } catch {
    return used;
  }
  for (const name of names) {
    const m = /^((?:layer|pkg)-[A-Za-z0-9._-]+)\.(\d+)$/.exec(name);
    if (!m?.[1] || !m[2]) continue;
    const file = join(markerDir(cacheDir), name);
    const age = now - (statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0);
    if (processAlive(Number(m[2])) || age < ttlMs) used.add(m[1]);
    else rmSync(file, { force: true });
  }
  return used;
}
