import { describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import { freeBytes, isNoSpace, noSpaceError } from './space.js';

const place = { dir: '/var/cache/copa', label: 'the layer cache', flag: '--cache-dir' };

describe('no space left', () => {
  it('is recognised in a Node error, a wrapped error, or a package manager message', () => {
    const enospc = Object.assign(new Error('write failed'), { code: 'ENOSPC' });
    expect(isNoSpace(enospc)).toBe(true);
    expect(isNoSpace(new CopaError('UNSAFE_LAYER', 'extracting', { cause: enospc }))).toBe(true);
    expect(isNoSpace(new CopaError('PACKAGE_MANAGER', 'failed to write (No space left on device)'))).toBe(true);
    expect(isNoSpace(new Error('connection reset'))).toBe(false);
  });

  it('extrapolates the need from the share of the input consumed, else says more than was free', () => {
    const e = noSpaceError(new Error('x'), place, 'layers ready', 100_000_000, 0.25);
    expect(e.message).toBe(
      'no space left on /var/cache/copa (the layer cache) during "layers ready": needed ~400 MB, 100 MB were free',
    );
    expect(e.hint).toBe('free space there, or point --cache-dir at a larger filesystem');
    expect(noSpaceError(new Error('x'), place, 'layer written', 5_000_000).message).toBe(
      'no space left on /var/cache/copa (the layer cache) during "layer written": needed more than the 5 MB that were free',
    );
  });

  it('reads the free bytes of a real filesystem, and nothing for a missing path', async () => {
    expect(await freeBytes('/')).toBeGreaterThan(0);
    expect(await freeBytes('/no/such/dir')).toBeUndefined();
  });
});
