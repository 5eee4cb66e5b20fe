import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  logText,
  measureTextRatio,
  planDataLayer,
  RANDOM_FILE,
  TEXT_FILE,
  writeDataLayerTar,
} from './datalayer.js';

describe('planDataLayer', () => {
  it('makes the image factor× larger both uncompressed and compressed', () => {
    const small = { compressed: 65e6, uncompressed: 172e6 };
    const k = 0.2;
    const p = planDataLayer(small, 10, k);
    expect(small.uncompressed + p.randomBytes + p.textBytes).toBeCloseTo(10 * small.uncompressed, -1);
    expect(small.compressed + p.randomBytes + k * p.textBytes).toBeCloseTo(10 * small.compressed, -1);
    expect(p.randomBytes).toBeGreaterThan(0);
  });
  it('mixes less text in for a less compressible image, and uses text only for one that compresses better than the text', () => {
    expect(planDataLayer({ compressed: 90, uncompressed: 100 }, 2, 0.5)).toEqual({
      randomBytes: 80,
      textBytes: 20,
    });
    expect(planDataLayer({ compressed: 10, uncompressed: 100 }, 2, 0.5)).toEqual({
      randomBytes: 0,
      textBytes: 100,
    });
  });
  it('refuses a factor ≤ 1 or a ratio outside (0, 1)', () => {
    expect(() => planDataLayer({ compressed: 1, uncompressed: 2 }, 1, 0.2)).toThrow(/factor/);
    expect(() => planDataLayer({ compressed: 1, uncompressed: 2 }, 2, 1)).toThrow(/ratio/);
  });
});

describe('logText', () => {
  it('is whole lines of at least the size asked, and compresses well but not absurdly', () => {
    const t = logText(100_000);
    expect(t.length).toBeGreaterThanOrEqual(100_000);
    expect(t.at(-1)).toBe(0x0a);
    const r = gzipSync(t).length / t.length;
    expect(r).toBeGreaterThan(0.05);
    expect(r).toBeLessThan(0.5);
    expect(measureTextRatio(200_000)).toBeGreaterThan(0.05);
  });
});

describe('writeDataLayerTar (listed by GNU tar)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-datalayer-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes random and text files of the planned sizes under /opt/bench-data, owned by root', async () => {
    const path = join(dir, 'data.tar');
    const plan = { randomBytes: RANDOM_FILE + 10, textBytes: 2 * TEXT_FILE };
    const { files } = await writeDataLayerTar(path, plan, 1_700_000_000);
    expect(files).toBe(4);
    const listing = execFileSync('tar', ['--list', '--verbose', '--numeric-owner', '--file', path], {
      encoding: 'utf8',
    })
      .trim()
      .split('\n');
    const entries = listing
      .map((l) => l.split(/\s+/))
      .map((f) => ({ owner: f[1], size: Number(f[2]), name: f[5] }));
    expect(entries.every((e) => e.owner === '0/0')).toBe(true);
    const sizes = (dirName: string): number[] =>
      entries
        .filter((e) => e.name?.startsWith(`opt/bench-data/${dirName}/000/`) && !e.name.endsWith('/'))
        .map((e) => e.size);
    expect(sizes('bin')).toEqual([RANDOM_FILE, 10]);
    expect(sizes('logs')).toEqual([TEXT_FILE, TEXT_FILE]);
    expect(entries[0]?.name).toBe('opt/');
  });
});
