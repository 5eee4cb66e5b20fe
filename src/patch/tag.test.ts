import { describe, expect, it } from 'vitest';
import { parseReference } from '../oci/reference.js';
import { patchedReference } from './tag.js';

const src = parseReference('127.0.0.1:5000/debian:12');

describe('patched tag rules', () => {
  it('defaults to <tag>-patched in the same repository', () => {
    expect(patchedReference(src, undefined, 'patched')).toEqual({
      registry: '127.0.0.1:5000',
      repository: 'debian',
      tag: '12-patched',
    });
    expect(patchedReference(src, '', 'fixed').tag).toBe('12-fixed');
  });
  it('uses a plain -t in the same repository', () => {
    expect(patchedReference(src, 'v1', 'patched')).toMatchObject({ repository: 'debian', tag: 'v1' });
  });
  it('accepts a full reference for cross-registry output', () => {
    expect(patchedReference(src, 'ghcr.io/acme/debian:12-p', 'patched')).toEqual({
      registry: 'ghcr.io',
      repository: 'acme/debian',
      tag: '12-p',
    });
  });
  it('rejects a full reference without a tag, a source without a tag, and bad tags', () => {
    expect(() => patchedReference(src, 'ghcr.io/acme/debian@sha256:' + 'a'.repeat(64), 'p')).toThrow(
      /without a tag/,
    );
    const digestOnly = parseReference('debian@sha256:' + 'b'.repeat(64));
    expect(() => patchedReference(digestOnly, undefined, 'patched')).toThrow(/no tag/);
    expect(() => patchedReference(src, '-bad', 'patched')).toThrow(/not a valid tag/);
  });
});
