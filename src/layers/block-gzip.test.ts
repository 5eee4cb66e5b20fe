import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BlockGzip } from './block-gzip.js';

async function compress(data: Buffer, blockSize: number, piece = 777): Promise<Buffer> {
  const out: Buffer[] = [];
  const gz = new BlockGzip((c) => void out.push(c), 6, blockSize);
  for (let i = 0; i < data.length; i += piece) await gz.write(data.subarray(i, i + piece));
  await gz.end();
  return Buffer.concat(out);
}

/** half text (compressible, with matches across block boundaries), half random */
function sample(n: number): Buffer {
  const text = Buffer.from(
    'usr/share/doc/libssl3/changelog.Debian.gz 0644 root root\n'.repeat(Math.ceil(n / 2 / 57)),
  );
  return Buffer.concat([text.subarray(0, Math.floor(n / 2)), randomBytes(n - Math.floor(n / 2))]);
}

describe('BlockGzip', () => {
  const block = 64 << 10;
  it.each([0, 1, block - 1, block, block + 1, Math.floor(3.5 * block), 8 * block])(
    '%i bytes: one gzip member that gunzip and the gzip tool read back exactly',
    async (n) => {
      const data = sample(n);
      const gz = await compress(data, block);
      expect(gunzipSync(gz).equals(data)).toBe(true);
      const tool = spawnSync('gzip', ['-dc'], { input: gz, maxBuffer: 64 << 20 });
      expect(tool.status).toBe(0);
      expect(tool.stdout.equals(data)).toBe(true);
      // one member: the trailer's length field is the whole input's
      expect(gz.readUInt32LE(gz.length - 4)).toBe(n);
    },
  );

  it('the bytes depend on the input only, not on how it was written', async () => {
    const data = sample(5 * block + 123);
    const a = await compress(data, block, 511);
    const b = await compress(data, block, 100_000);
    expect(a.equals(b)).toBe(true);
  });

  it('later blocks use the previous block as dictionary (repetitive input compresses like one stream)', async () => {
    const data = Buffer.from('0123456789abcdef'.repeat((16 * block) / 16));
    const gz = await compress(data, block);
    expect(gz.length).toBeLessThan(data.length / 100);
  });
});

describe('gzipLevel (COPA_GZIP_LEVEL)', () => {
  it('defaults to 4 and takes 1-9', async () => {
    const { gzipLevel } = await import('./tar-pack.js');
    expect(gzipLevel({})).toBe(4);
    expect(gzipLevel({ COPA_GZIP_LEVEL: '9' })).toBe(9);
    expect(gzipLevel({ COPA_GZIP_LEVEL: '0' })).toBe(4);
    expect(gzipLevel({ COPA_GZIP_LEVEL: 'max' })).toBe(4);
  });
});
