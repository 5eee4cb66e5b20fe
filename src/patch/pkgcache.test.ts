import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import type { PackageManager } from '../pkgmgr/types.js';
import { indexMaxAgeMs, PackageCache } from './pkgcache.js';

// only the cache-path fields matter here; the refresh/download callbacks below play the package manager
const apt = {
  cachePaths: ['/var/lib/apt/lists', '/var/cache/apt/archives'],
  indexPaths: ['/var/lib/apt/lists'],
} as unknown as PackageManager;

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'copa-pkgcache-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function open(name: string, maxAgeMs = 60_000) {
  const work = join(root, 'work', name);
  await mkdir(work, { recursive: true });
  const cache = new PackageCache(join(root, 'cache'), 'debian-12-linux-amd64-abc', work, apt, {
    logger: silentLogger,
    signal: new AbortController().signal,
    maxAgeMs,
  });
  const dirs = await cache.open();
  return { cache, lists: dirs.get('/var/lib/apt/lists')!, debs: dirs.get('/var/cache/apt/archives')! };
}

describe('PackageCache', () => {
  it('refreshes once, then hands a fresh generation to the next run without its lock files', async () => {
    const a = await open('a');
    const calls: boolean[] = [];
    await a.cache.refresh('debian 12', async (fresh) => {
      calls.push(fresh);
      await writeFile(join(a.lists, 'deb_dists_bookworm_InRelease'), 'release');
      await writeFile(join(a.lists, 'lock'), '');
      await writeFile(join(a.lists, 'partial', 'half'), 'x');
    });
    const b = await open('b');
    await b.cache.refresh('debian 12', async (fresh) => {
      calls.push(fresh);
      await Promise.resolve();
    });
    expect(calls).toStrictEqual([false, true]);
    expect(await readFile(join(b.lists, 'deb_dists_bookworm_InRelease'), 'utf8')).toBe('release');
    expect(await readdir(b.lists)).not.toContain('lock'); // apt's lock files are never shared
    expect(await readdir(join(b.lists, 'partial'))).toStrictEqual([]);
    // shared by hard link, no copy: a's refreshed file, the published generation and b's view are one inode
    const [sa, sb] = await Promise.all([
      stat(join(a.lists, 'deb_dists_bookworm_InRelease')),
      stat(join(b.lists, 'deb_dists_bookworm_InRelease')),
    ]);
    expect(sb.ino).toBe(sa.ino);
    expect(sb.nlink).toBe(3);
  });

  it('refreshes again when the generation is older than the maximum age, from a copy of it', async () => {
    const a = await open('a', 0);
    await a.cache.refresh('x', () => writeFile(join(a.lists, 'Packages'), 'v1'));
    const b = await open('b', 0);
    const seen: string[] = [];
    await b.cache.refresh('x', async (fresh) => {
      expect(fresh).toBe(false);
      seen.push(await readFile(join(b.lists, 'Packages'), 'utf8')); // seeded: an If-Modified-Since refresh
      await writeFile(join(b.lists, 'Packages'), 'v2');
    });
    expect(seen).toStrictEqual(['v1']);
    const c = await open('c', 60_000);
    await c.cache.refresh('x', async () => Promise.resolve());
    expect(await readFile(join(c.lists, 'Packages'), 'utf8')).toBe('v2');
  });

  it('pools downloaded packages (only package files) and seeds them into later runs', async () => {
    const a = await open('a');
    await a.cache.download('x', async () => {
      await writeFile(join(a.debs, 'libssl3_3.0.17-1_amd64.deb'), 'deb');
      await writeFile(join(a.debs, 'lock'), '');
    });
    const b = await open('b');
    expect((await readdir(b.debs)).sort()).toStrictEqual(['libssl3_3.0.17-1_amd64.deb', 'partial']);
    expect(await readFile(join(b.debs, 'libssl3_3.0.17-1_amd64.deb'), 'utf8')).toBe('deb');
  });

  it('serialises concurrent refreshes of one key: exactly one of them updates the indexes', async () => {
    const runs = await Promise.all(['a', 'b', 'c', 'd'].map((n) => open(n)));
    const fresh: boolean[] = [];
    await Promise.all(
      runs.map((r) =>
        r.cache.refresh('x', async (f) => {
          fresh.push(f);
          if (!f) await writeFile(join(r.lists, 'Packages'), 'one');
        }),
      ),
    );
    expect(fresh.filter((f) => !f)).toHaveLength(1);
    for (const r of runs) expect(await readFile(join(r.lists, 'Packages'), 'utf8')).toBe('one');
  });
});

describe('indexMaxAgeMs', () => {
  it.each([
    [undefined, 600_000],
    ['0', 0],
    ['90', 90_000],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['banana', 600_000],
  ])('COPA_INDEX_MAX_AGE=%s -> %d ms', (value, ms) => {
    expect(indexMaxAgeMs(value === undefined ? {} : { COPA_INDEX_MAX_AGE: value })).toBe(ms);
  });
});
