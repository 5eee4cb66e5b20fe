import { createReadStream } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../oci/digest.js';
import { decompress, nativeZstd } from './decompress.js';
import { CopaError } from '../errors.js';
import { readTar, type TarHeader } from './tar-reader.js';
import { writeLayer } from './writer.js';

let dir: string;
let upper: string;

async function headers(file: string): Promise<TarHeader[]> {
  const out: TarHeader[] = [];
  for await (const e of readTar(decompress(createReadStream(file)))) out.push(e.header);
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'copa-writer-'));
  upper = join(dir, 'upper');
  await mkdir(join(upper, 'usr/lib'), { recursive: true });
  await mkdir(join(upper, 'usr-local'), { recursive: true });
  await writeFile(join(upper, 'usr/lib/libz.so.1'), 'zlib'.repeat(300));
  await link(join(upper, 'usr/lib/libz.so.1'), join(upper, 'usr/lib/libz-hard'));
  await symlink('libz.so.1', join(upper, 'usr/lib/libz.so'));
  await writeFile(join(upper, 'usr-local/x'), '');
  await writeFile(join(upper, 'a'), 'a');
  await utimes(join(upper, 'a'), 1_000_000_000, 1_000_000_000);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeLayer (plain files, no root needed)', () => {
  it('writes sorted entries with parents first, hardlinks and symlinks', async () => {
    const out = join(dir, 'l1.tar.gz');
    const r = await writeLayer(upper, out, { compression: 'gzip' });
    const hs = await headers(out);
    expect(hs.map((h) => `${h.type} ${h.name}${h.linkname ? ` -> ${h.linkname}` : ''}`)).toEqual([
      'file a',
      'dir usr/',
      'dir usr/lib/',
      'file usr/lib/libz-hard', // the first name of the inode in entry order carries the data
      'symlink usr/lib/libz.so -> libz.so.1',
      'link usr/lib/libz.so.1 -> usr/lib/libz-hard',
      'dir usr-local/',
      'file usr-local/x',
    ]);
    expect(hs[0]?.mtime).toBe(1_000_000_000);
    const blob = await readFile(out);
    expect(r.digest).toBe(sha256(blob));
    expect(r.diffID).toBe(sha256(gunzipSync(blob)));
    expect(r.size).toBe(blob.length);
    expect(r.uncompressedSize).toBe(gunzipSync(blob).length);
    // gzip header: no timestamp, OS byte "unknown"
    expect([...blob.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  });

  it('is byte-for-byte reproducible, and clamps mtimes to SOURCE_DATE_EPOCH', async () => {
    const a = await writeLayer(upper, join(dir, 'a.tar.gz'), {
      compression: 'gzip',
      sourceDateEpoch: 1_500_000_000,
    });
    const b = await writeLayer(upper, join(dir, 'b.tar.gz'), {
      compression: 'gzip',
      sourceDateEpoch: 1_500_000_000,
    });
    expect(a.digest).toBe(b.digest);
    expect(await readFile(a.path)).toEqual(await readFile(b.path));
    const times = (await headers(a.path)).map((h) => h.mtime);
    expect(Math.max(...times)).toBe(1_500_000_000);
    expect(times).toContain(1_000_000_000); // older times are kept
  });

  it('writes uncompressed layers (digest = diffID) and honours exclude', async () => {
    const r = await writeLayer(upper, join(dir, 'n.tar'), {
      compression: 'none',
      exclude: (p) => p === 'usr' || p === 'a',
    });
    expect(r.digest).toBe(r.diffID);
    expect((await headers(r.path)).map((h) => h.name)).toEqual(['usr-local/', 'usr-local/x']);
    const parsed: string[] = [];
    for await (const e of readTar(Readable.from([await readFile(r.path)]))) parsed.push(e.header.name);
    expect(parsed).toHaveLength(2);
  });

  it('writes zstd when node:zlib has it, and says so clearly when it does not', async () => {
    const out = join(dir, 'z.tar.zst');
    if (nativeZstd()) {
      const r = await writeLayer(upper, out, { compression: 'zstd' });
      const blob = await readFile(out);
      expect([...blob.subarray(0, 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
      expect(r.digest).toBe(sha256(blob));
      const gz = await writeLayer(upper, join(dir, 'z.tar.gz'), { compression: 'gzip' });
      expect(r.diffID).toBe(gz.diffID); // same tar inside
      expect((await headers(out)).length).toBe(8);
    } else {
      const err = await writeLayer(upper, out, { compression: 'zstd' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CopaError);
      expect((err as CopaError).code).toBe('ENVIRONMENT');
      expect((err as CopaError).message).toMatch(/zstd layer compression needs Node\.js 22\.15/);
    }
  });

  it('refuses file names that are not UTF-8 clearly', async () => {
    const odd = join(dir, 'odd');
    await mkdir(odd);
    await writeFile(Buffer.from(`${odd}/caf\xe9`, 'latin1'), 'x');
    await expect(writeLayer(odd, join(dir, 'odd.tar'), { compression: 'none' })).rejects.toThrow(
      /holds a file whose name is not valid UTF-8 \(636166e9\)/,
    );
  });
});
