import { describe, expect, it } from 'vitest';
import type { LayerContent } from './layer.js';
import { addedLayers, mergeContents } from './pushed.js';

const layer = (digest: string, size = 1) => ({
  digest,
  size,
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
});

const content = (pkg: number, logs: number, installed?: number, unwanted: string[] = []): LayerContent => ({
  compressed: 10,
  uncompressed: 100,
  entries: 5,
  bytes: { 'package files': pkg, 'dpkg db': 1, 'apt lists': 0, 'apt cache': 0, logs, whiteouts: 2 },
  ...(installed === undefined ? {} : { upgradedInstalledSize: installed }),
  unwanted,
});

describe('addedLayers', () => {
  it('keeps the layers of the patched image that the source does not have, in order', () => {
    const source = [layer('sha256:a'), layer('sha256:b')];
    const patched = [layer('sha256:a'), layer('sha256:b'), layer('sha256:c', 7), layer('sha256:d', 9)];
    expect(addedLayers(patched, source).map((l) => l.digest)).toEqual(['sha256:c', 'sha256:d']);
    expect(addedLayers(source, source)).toEqual([]);
  });
});

describe('mergeContents', () => {
  it('adds sizes, entries and bytes per category; the later status file wins', () => {
    const merged = mergeContents(content(100, 0, 500), content(50, 3, 700, ['var/log/apt/term.log']));
    expect(merged).toEqual({
      compressed: 20,
      uncompressed: 200,
      entries: 10,
      bytes: { 'package files': 150, 'dpkg db': 2, 'apt lists': 0, 'apt cache': 0, logs: 3, whiteouts: 4 },
      upgradedInstalledSize: 700,
      unwanted: ['var/log/apt/term.log'],
    });
    expect(mergeContents(content(1, 0, 500), content(1, 0)).upgradedInstalledSize).toBe(500);
    expect(mergeContents(content(1, 0), content(1, 0))).not.toHaveProperty('upgradedInstalledSize');
  });
});
