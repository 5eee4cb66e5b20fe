/**
 * The layer cache for real: extraction as root (whiteouts as char devices, xattrs), two processes
 * filling the same layer at once, digest mismatches, report/prune against `du`, stale temp dirs.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopaError } from '../../src/errors.js';
import { releaseAll } from '../../src/layers/inuse.js';
import { LayerCache } from '../../src/layers/cache.js';
import { layerXattrs } from '../../src/layers/xattr-index.js';
import type { Layer } from '../../src/oci/image.js';
import { makeTar, memoryLayer, sha256, type TarSpec } from '../helpers/tar.js';

const CACHE_MODULE = fileURLToPath(new URL('../../dist/layers/cache.js', import.meta.url));

let base: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'copa-cache-'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

function recordingLogger(): { debug(m: string): void; info(): void; warn(m: string): void; lines: string[] } {
  const lines: string[] = [];
  return { debug: (m) => lines.push(m), info() {}, warn: (m) => lines.push(m), lines };
}

function bigTar(files: number): Buffer {
  const entries: TarSpec[] = [{ name: 'data/', type: 'dir' }];
  for (let i = 0; i < files; i++) {
    entries.push({ name: `data/f${i}`, body: `${i}:`.padEnd(4096, String.fromCharCode(97 + (i % 26))) });
  }
  return makeTar(entries);
}

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A separate Node process that ensures one layer (read from a file) in the cache at `dir`. */
function ensureInChild(dir: string, blobFile: string, layer: Layer, gate: string): Promise<ChildResult> {
  const script = `
    import { createReadStream, existsSync } from 'node:fs';
    import { setTimeout as sleep } from 'node:timers/promises';
    const [mod, dir, blob, digest, diffID, size, gate] = process.argv.slice(1);
    const { LayerCache } = await import(mod);
    while (!existsSync(gate)) await sleep(5);
    const log = (m) => process.stderr.write(m + '\\n');
    const cache = new LayerCache({ dir, logger: { debug: log, info: log, warn: log } });
    const mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip';
    const out = await cache.ensure({
      digest, diffID, size: Number(size), mediaType, descriptor: { mediaType, digest, size: Number(size) },
      compressed: async () => createReadStream(blob),
    });
    process.stdout.write(out);
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        script,
        CACHE_MODULE,
        dir,
        blobFile,
        layer.digest,
        layer.diffID,
        String(layer.size),
        gate,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function blobOf(layer: Layer): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of await layer.compressed()) parts.push(b as Buffer);
  return Buffer.concat(parts);
}

describe('LayerCache', () => {
  it('fills one consistent directory when two processes ensure the same layer at once', async () => {
    const dir = join(base, 'concurrent');
    const layer = memoryLayer(bigTar(1500));
    const blobFile = join(base, 'big.tar.gz');
    await writeFile(blobFile, await blobOf(layer));
    const gate = join(base, 'gate');
    const runs = [ensureInChild(dir, blobFile, layer, gate), ensureInChild(dir, blobFile, layer, gate)];
    await writeFile(gate, '');
    const [a, b] = await Promise.all(runs);
    expect([a?.code, b?.code]).toEqual([0, 0]);
    const final = new LayerCache({ dir }).layerDir(layer.diffID);
    expect([a?.stdout, b?.stdout]).toEqual([final, final]);
    const files = await readdir(join(final, 'data'));
    expect(files).toHaveLength(1500);
    expect(await readFile(join(final, 'data/f1499'), 'utf8')).toMatch(/^1499:r+$/);
    // whoever extracted and found the place taken discarded its copy
    const logs = `${a?.stderr}${b?.stderr}`;
    const extracted = logs.match(/^extracting layer/gm)?.length ?? 0;
    const lost = logs.match(/extracted by another process meanwhile/g)?.length ?? 0;
    expect(extracted).toBeGreaterThanOrEqual(1);
    expect(lost).toBe(extracted - 1);
    expect(await readdir(join(dir, 'layers', 'tmp'))).toEqual([]);
    expect(await readdir(join(dir, 'layers', 'sha256'))).toHaveLength(1);
  });

  it('extracts once per diffID, also for concurrent calls in one process', async () => {
    const log = recordingLogger();
    const cache = new LayerCache({ dir: join(base, 'once'), logger: log });
    const layer = memoryLayer(makeTar([{ name: 'x', body: 'x' }]));
    const [p, q] = await Promise.all([cache.ensure(layer), cache.ensure(layer)]);
    expect(await cache.ensure(layer)).toBe(p);
    expect(q).toBe(p);
    expect(log.lines.filter((l) => l.startsWith('extracting')).length).toBe(1);
  });

  it('stores whiteouts and opaque dirs in overlay form, from gzip, zstd and plain tars', async () => {
    const tar = makeTar([
      { name: 'etc/', type: 'dir' },
      { name: 'etc/.wh.group' },
      { name: 'var/cache/', type: 'dir' },
      { name: 'var/cache/.wh..wh..opq' },
      { name: 'var/cache/kept', body: 'k' },
    ]);
    const zst = execFileSync('zstd', ['-q', '-c'], { input: tar });
    const zstLayer: Layer = {
      ...memoryLayer(tar, { compress: false }),
      digest: sha256(zst),
      size: zst.length,
      compressed: () => Promise.resolve(Readable.from([zst])),
    };
    for (const [kind, layer] of [
      ['gzip', memoryLayer(tar)],
      ['none', memoryLayer(tar, { compress: false })],
      ['zstd', zstLayer],
    ] as const) {
      const cache = new LayerCache({ dir: join(base, `forms-${kind}`) });
      const dir = await cache.ensure(layer);
      const wh = await lstat(join(dir, 'etc/group'));
      expect([wh.isCharacterDevice(), wh.rdev]).toEqual([true, 0]);
      const xattr = execFileSync('getfattr', [
        '-n',
        'trusted.overlay.opaque',
        '--only-values',
        join(dir, 'var/cache'),
      ]);
      expect(xattr.toString()).toBe('y');
      expect(await readFile(join(dir, 'var/cache/kept'), 'utf8')).toBe('k');
    }
  });

  it('caches nothing when the uncompressed bytes do not match the diffID', async () => {
    const dir = join(base, 'mismatch');
    const cache = new LayerCache({ dir });
    const tar = makeTar([{ name: 'evil', body: 'not what the config promised' }]);
    const layer = memoryLayer(tar, { diffID: sha256(Buffer.from('something else')) });
    const err = await cache.ensure(layer).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopaError);
    expect((err as CopaError).code).toBe('DIGEST_MISMATCH');
    expect((err as CopaError).message).toContain(layer.diffID);
    expect(await readdir(join(dir, 'layers', 'tmp'))).toEqual([]);
    expect(await readdir(join(dir, 'layers')).then((l) => l.includes('sha256'))).toBe(false);
    expect((await cache.report()).entries).toEqual([]);
  });

  it('caches nothing from a hostile layer', async () => {
    const dir = join(base, 'hostile');
    const cache = new LayerCache({ dir });
    const layer = memoryLayer(
      makeTar([
        { name: 'ok', body: 'fine' },
        { name: '../../escape', body: 'x' },
      ]),
    );
    await expect(cache.ensure(layer)).rejects.toThrow(
      /entry "\.\.\/\.\.\/escape": path escapes the layer root/,
    );
    expect(await readdir(join(dir, 'layers', 'tmp'))).toEqual([]);
    expect((await cache.report()).entries).toEqual([]);
  });

  it('reports sizes as du does, and prunes by last use or all', async () => {
    const dir = join(base, 'prune');
    const cache = new LayerCache({ dir });
    const l1 = memoryLayer(bigTar(20));
    const l2 = memoryLayer(makeTar([{ name: 'small', body: 's' }]));
    const d1 = await cache.ensure(l1);
    const d2 = await cache.ensure(l2);
    const du = (p: string): number => Number(execFileSync('du', ['-s', '-B1', p]).toString().split('\t')[0]);
    const [du1, du2] = [du(d1), du(d2)];
    const report = await cache.report();
    expect(report.entries.map((e) => e.diffID).sort()).toEqual([l1.diffID, l2.diffID].sort());
    const bytes = new Map(report.entries.map((e) => [e.diffID, e.bytes]));
    expect([bytes.get(l1.diffID), bytes.get(l2.diffID)]).toEqual([du1, du2]);
    expect(report.totalBytes).toBe(du1 + du2);

    // while this process uses them (a run in progress), nothing is pruned
    expect(await cache.prune({ all: true })).toEqual({ removed: 0, freedBytes: 0 });
    releaseAll(); // the run is over
    // the lower-layer view of a layer write indexes l1's xattrs beside its meta; pruning l1 removes both
    await layerXattrs(d1);
    const index = join(dir, 'layers', 'meta', `${l1.diffID.slice(7)}.xattrs.json`);
    expect(existsSync(index)).toBe(true);
    // l1 last used two days ago
    const old = new Date(Date.now() - 2 * 86_400_000);
    await utimes(join(dir, 'layers', 'meta', `${l1.diffID.slice(7)}.json`), old, old);
    expect(await cache.prune({ olderThanMs: 86_400_000 })).toEqual({ removed: 1, freedBytes: du1 });
    expect((await cache.report()).entries.map((e) => e.diffID)).toEqual([l2.diffID]);
    expect(existsSync(index)).toBe(false);
    expect(await cache.prune({ olderThanMs: 86_400_000 })).toEqual({ removed: 0, freedBytes: 0 });
    // using a layer again after pruning extracts it again
    expect(await cache.ensure(l1)).toBe(d1);
    releaseAll();
    expect(await cache.prune({ all: true })).toEqual({ removed: 2, freedBytes: du1 + du2 });
    expect(await cache.report()).toEqual({ entries: [], totalBytes: 0 });
    expect(await readdir(join(dir, 'layers', 'tmp'))).toEqual([]);
  });

  it('removes temp dirs of processes that are gone, and keeps its own', async () => {
    const dir = join(base, 'stale');
    const cache = new LayerCache({ dir });
    const mine = await cache.tempDir('work');
    const script = `const { LayerCache } = await import(process.argv[1]); const c = new LayerCache({ dir: process.argv[2] });
      process.stdout.write(await c.tempDir('engine'));`;
    const theirs = execFileSync(process.execPath, [
      '--input-type=module',
      '-e',
      script,
      CACHE_MODULE,
      dir,
    ]).toString();
    expect(theirs).toMatch(new RegExp(`/tmp/engine-\\d+-[0-9a-f]{8}$`));
    await writeFile(join(theirs, 'leftover'), 'x');
    expect((await cache.cleanStale()).removed).toEqual([theirs]);
    expect(await lstat(mine).then((s) => s.isDirectory())).toBe(true);
    expect(await readdir(join(dir, 'tmp'))).toEqual([mine.slice(mine.lastIndexOf('/') + 1)]);
  });
});
