import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCacheDir, LayerCache } from './cache.js';

describe('cache location', () => {
  it('prefers COPA_CACHE_DIR, then XDG_CACHE_HOME/copa, then ~/.cache/copa', () => {
    expect(defaultCacheDir({ COPA_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x' })).toBe('/c');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/copa');
    expect(defaultCacheDir({})).toBe(join(homedir(), '.cache', 'copa'));
  });

  it('lays layers out by diffID and refuses what is not a digest', () => {
    const cache = new LayerCache({ dir: '/cache' });
    expect(cache.layerDir(`sha256:${'ab'.repeat(32)}`)).toBe(`/cache/layers/sha256/${'ab'.repeat(32)}`);
    expect(cache.tempRoot()).toBe('/cache/tmp');
    expect(() => cache.layerDir('sha256:../../etc')).toThrow(/invalid digest/);
  });
});
