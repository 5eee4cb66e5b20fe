import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findLayerFile, tarFlags } from './profile-floors.js';

describe('tarFlags', () => {
  it('picks the decompression of a layer media type', () => {
    expect(tarFlags('application/vnd.oci.image.layer.v1.tar+gzip')).toEqual(['-z']);
    expect(tarFlags('application/vnd.docker.image.rootfs.diff.tar.gzip')).toEqual(['-z']);
    expect(tarFlags('application/vnd.oci.image.layer.v1.tar+zstd')).toEqual(['--zstd']);
    expect(tarFlags('application/vnd.oci.image.layer.v1.tar')).toEqual([]);
  });
});

describe('findLayerFile', () => {
  it('finds layer.tar.gz in the per-run dir of a kept work dir, not inside the trees', async () => {
    const work = await mkdtemp(join(tmpdir(), 'bench-profile-floors-test-'));
    try {
      await mkdir(join(work, 'copa-run-1-x', 'upper', 'deep'), { recursive: true });
      await writeFile(join(work, 'copa-run-1-x', 'upper', 'deep', 'layer.tar.gz'), '');
      expect(await findLayerFile(work)).toBeUndefined();
      await writeFile(join(work, 'copa-run-1-x', 'layer.tar.gz'), '');
      expect(await findLayerFile(work)).toBe(join(work, 'copa-run-1-x', 'layer.tar.gz'));
      expect(await findLayerFile(join(work, 'missing'))).toBeUndefined();
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
