/**
 * `copa cache du` and `copa cache prune` over a whole cache: extracted layers, a package cache
 * (indexes and downloads) and a work dir kept by --debug, through the CLI. A layer a live process
 * holds is never pruned.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LayerCache } from '../../src/layers/cache.js';
import { releaseAll } from '../../src/layers/inuse.js';
import { copa } from '../helpers/cli.js';
import { makeTar, memoryLayer } from '../helpers/tar.js';

let base: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'copa-cache-cli-'));
});

afterAll(async () => {
  releaseAll();
  await rm(base, { recursive: true, force: true });
});

interface Du {
  totals: Record<'layers' | 'packages' | 'work' | 'total', { count: number; bytes: number }>;
  items: Array<{ part: string; id: string; bytes: number; inUse: boolean }>;
}

async function du(dir: string): Promise<Du> {
  const r = await copa(['cache', 'du', '--cache-dir', dir, '--json']);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Du;
}

/** A cache with two layers, a package cache of ~1 MiB and a kept --debug work dir. */
async function filledCache(name: string): Promise<{ dir: string; small: string; big: string }> {
  const dir = join(base, name);
  const cache = new LayerCache({ dir });
  const big = memoryLayer(makeTar([{ name: 'big', body: Buffer.alloc(3 << 20, 1) }]));
  const small = memoryLayer(makeTar([{ name: 'small', body: 's' }]));
  await cache.ensure(big);
  await cache.ensure(small);
  releaseAll(); // the run that used them is over
  const old = new Date(Date.now() - 3 * 86_400_000);
  await utimes(join(dir, 'layers', 'meta', `${big.diffID.slice(7)}.json`), old, old);
  const pkg = join(dir, 'pkg', 'debian-12-linux-amd64-0123456789ab');
  await mkdir(join(pkg, 'pool', '_var_cache_apt_archives'), { recursive: true });
  await writeFile(join(pkg, 'pool', '_var_cache_apt_archives', 'x.deb'), Buffer.alloc(1 << 20, 2));
  await writeFile(join(pkg, 'used'), '');
  const yesterday = new Date(Date.now() - 86_400_000);
  await utimes(join(pkg, 'used'), yesterday, yesterday);
  const debug = join(dir, 'tmp', 'copa-debug-20261201T000000Z-abcdef');
  await mkdir(debug, { recursive: true });
  await writeFile(join(debug, 'layer.tar.gz'), Buffer.alloc(100_000, 3));
  return { dir, small: small.diffID, big: big.diffID };
}

describe('copa cache du / prune', () => {
  it('du shows every part: layers, package caches and work dirs', async () => {
    const { dir } = await filledCache('du');
    const r = await du(dir);
    expect(r.totals.layers.count).toBe(2);
    expect(r.totals.layers.bytes).toBeGreaterThan(3 << 20);
    expect(r.totals.packages).toMatchObject({ count: 1 });
    expect(r.totals.packages.bytes).toBeGreaterThanOrEqual(1 << 20);
    expect(r.totals.work.count).toBe(1);
    expect(r.totals.total.bytes).toBe(r.totals.layers.bytes + r.totals.packages.bytes + r.totals.work.bytes);
    const text = await copa(['cache', 'du', '--cache-dir', dir]);
    expect(text.stdout).toMatch(/^PART +ITEM +SIZE +LAST USED +IN USE$/m);
    expect(text.stdout).toMatch(/^packages: 1 item\(s\), 1\.0 MiB$/m);
    expect(text.stdout).toMatch(/cap 20\.0 GiB \(COPA_CACHE_MAX\)/);
  });

  it('--older-than, --keep-storage and --all', async () => {
    const { dir, small, big } = await filledCache('prune');
    const aged = await copa(['cache', 'prune', '--older-than', '48h', '--cache-dir', dir]);
    expect(aged.code).toBe(0);
    expect(aged.stdout).toMatch(/removed 1 layers item\(s\), 0 packages item\(s\), 0 work item\(s\)/);
    expect((await du(dir)).items.map((i) => i.id)).not.toContain(big);
    // 1 MiB cap: the package cache (used longest ago) goes, the small layer stays, the --debug dir too
    const capped = await copa(['cache', 'prune', '--keep-storage', '1MiB', '--cache-dir', dir]);
    expect(capped.code).toBe(0);
    const left = await du(dir);
    expect(left.totals.packages.count).toBe(0);
    expect(left.items.map((i) => i.id)).toContain(small);
    expect(left.totals.work.count).toBe(1);
    const all = await copa(['cache', 'prune', '--all', '--cache-dir', dir, '--json']);
    expect(JSON.parse(all.stdout)).toMatchObject({ kept: { total: { count: 0, bytes: 0 } } });
  });

  it('leaves a layer alone while a live process uses it', async () => {
    const { dir, small } = await filledCache('busy');
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { markInUse, layerItem } = await import(process.argv[1]);
         markInUse(process.argv[2], layerItem(process.argv[3])); console.log('held'); setInterval(() => {}, 1000);`,
        new URL('../../dist/layers/inuse.js', import.meta.url).pathname,
        dir,
        small.slice(7),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((r) => holder.stdout.once('data', () => r()));
    try {
      const r = await copa(['cache', 'prune', '--all', '--cache-dir', dir], {
        ...process.env,
        COPA_CACHE_INUSE_TTL_HOURS: '0',
      });
      expect(r.stdout).toMatch(/1 item\(s\) in use by running copa processes/);
      expect((await du(dir)).items.filter((i) => i.inUse).map((i) => i.id)).toEqual([small]);
    } finally {
      holder.kill();
    }
    await new Promise((r) => holder.once('exit', r));
    // the holder is gone and its marker is older than a 0 h TTL: now it goes
    const r = await copa(['cache', 'prune', '--all', '--cache-dir', dir], {
      ...process.env,
      COPA_CACHE_INUSE_TTL_HOURS: '0',
    });
    expect(r.code).toBe(0);
    expect((await du(dir)).totals.total.count).toBe(0);
  });

  it('refuses a size it cannot read, naming the flag', async () => {
    const r = await copa(['cache', 'prune', '--keep-storage', 'lots', '--cache-dir', join(base, 'none')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--keep-storage: "lots" is not a size');
  });
});
