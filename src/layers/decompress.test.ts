import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import { decompress, nativeZstd, sniffCompression } from './decompress.js';

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of r) parts.push(b as Buffer);
  return Buffer.concat(parts);
}

function chunked(b: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) parts.push(b.subarray(i, i + size));
  return Readable.from(parts);
}

const payload = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251));

describe('decompress', () => {
  it('sniffs magic bytes', () => {
    expect(sniffCompression(Buffer.from([0x1f, 0x8b, 8]))).toBe('gzip');
    expect(sniffCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0]))).toBe('zstd');
    expect(sniffCompression(Buffer.from('ustar'))).toBe('none');
    expect(sniffCompression(Buffer.alloc(0))).toBe('none');
  });

  it('gunzips, even when the magic arrives one byte at a time', async () => {
    expect(await collect(decompress(chunked(gzipSync(payload), 1)))).toEqual(payload);
    expect(await collect(decompress(chunked(gzipSync(payload), 4096)))).toEqual(payload);
  });

  it('reads zstd, all frames, skipping skippable frames (zstd:chunked has them)', async () => {
    // the reference encoder: the zstd CLI (Debian package zstd)
    const frame = execFileSync('zstd', ['-q', '-c', '-3'], { input: payload });
    expect(await collect(decompress(chunked(frame, 1000)))).toEqual(payload);
    // two concatenated frames are one stream, as with gzip members
    const two = Buffer.concat([frame, execFileSync('zstd', ['-q', '-c'], { input: Buffer.from('tail') })]);
    expect(await collect(decompress(chunked(two, 333)))).toEqual(
      Buffer.concat([payload, Buffer.from('tail')]),
    );
    const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0]), Buffer.from('meta')]);
    const withSkip = Buffer.concat([
      frame,
      skippable,
      execFileSync('zstd', ['-q', '-c'], { input: Buffer.from('end') }),
    ]);
    expect(await collect(decompress(chunked(withSkip, 7)))).toEqual(
      Buffer.concat([payload, Buffer.from('end')]),
    );
  });

  it('passes anything else through, including tiny and empty input', async () => {
    expect(await collect(decompress(chunked(payload, 3)))).toEqual(payload);
    expect(await collect(decompress(Readable.from([Buffer.from('ab')])))).toEqual(Buffer.from('ab'));
    expect(await collect(decompress(Readable.from([])))).toEqual(Buffer.alloc(0));
  });

  it('turns corrupt data into a clear error', async () => {
    const bad = gzipSync(payload);
    bad.fill(0x55, 20, 60);
    await expect(collect(decompress(chunked(bad, 1000)))).rejects.toThrow(/corrupt gzip layer data/);
    const zbad = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(50, 0xee)]);
    await expect(collect(decompress(Readable.from([zbad])))).rejects.toThrow(/corrupt zstd layer data/);
  });

  it('lets errors of the input through unchanged', async () => {
    const boom = new CopaError('DIGEST_MISMATCH', 'content does not match');
    const src = new Readable({ read() {} });
    const out = collect(decompress(src));
    src.push(gzipSync(payload).subarray(0, 100));
    src.destroy(boom);
    await expect(out).rejects.toBe(boom);
  });

  it('finds node:zlib zstd (for compressing) exactly when this Node has it', () => {
    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
    expect(nativeZstd() !== undefined).toBe(major > 22 || (major === 22 && minor >= 15));
  });
});
