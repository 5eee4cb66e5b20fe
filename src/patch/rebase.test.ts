import { describe, expect, it } from 'vitest';
import type { Image } from '../oci/image.js';
import { parseReference } from '../oci/reference.js';
import { lineageAnnotations } from './image.js';
import { baseImageOf, indexBase } from './rebase.js';

const D = (c: string): string => `sha256:${c.repeat(64)}`;
/** only digest() is read: an image value as the flow has one */
const image = { digest: () => Promise.resolve(D('a')) } as unknown as Image;

describe('the base image of a patched image (org.opencontainers.image.base.*)', () => {
  it('a first patch: the source as given, fully qualified, and its platform manifest digest', async () => {
    const source = parseReference('nginx:1.25');
    expect(await baseImageOf({ kind: 'fresh' }, source, image)).toEqual({
      name: 'docker.io/library/nginx:1.25',
      digest: D('a'),
    });
  });

  it('re-patching: the ORIGINAL base (fully qualified), not the previous patched image', async () => {
    const source = parseReference('127.0.0.1:5000/app:1-patched');
    const lineage = {
      kind: 'rebase' as const,
      baseRef: 'app:1',
      keep: 3,
      baseDigest: D('b'),
      baseRefDigest: D('c'),
    };
    expect(await baseImageOf(lineage, source, image)).toEqual({
      name: 'docker.io/library/app:1',
      digest: D('b'),
      refDigest: D('c'),
    });
  });

  it('a lost base: the source is its own base (as the BaseImage label)', async () => {
    const lineage = { kind: 'lost-base' as const, baseRef: 'gone:1', reason: 'cannot be pulled' };
    expect(await baseImageOf(lineage, parseReference('r.example/app:1-patched'), image)).toEqual({
      name: 'r.example/app:1-patched',
      digest: D('a'),
    });
  });

  it('an index: the source index, or the digest a re-patched platform’s base reference resolves to', () => {
    expect(indexBase('r.example/app:1', D('i'), [{ name: 'x', digest: D('a') }, undefined])).toEqual({
      name: 'r.example/app:1',
      digest: D('i'),
    });
    const rebased = { name: 'r.example/app:1', digest: D('b'), refDigest: D('c') };
    expect(indexBase('r.example/app:1-patched', D('i'), [undefined, rebased])).toEqual({
      name: 'r.example/app:1',
      digest: D('c'),
    });
    expect(lineageAnnotations({ name: 'r.example/app:1', digest: D('c') })).toEqual({
      'org.opencontainers.image.base.name': 'r.example/app:1',
      'org.opencontainers.image.base.digest': D('c'),
    });
  });
});
