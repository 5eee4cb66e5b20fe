import { describe, expect, it } from 'vitest';
import { MediaType } from '../mediatypes.js';
import {
  addQuery,
  checkReference,
  checkRepository,
  manifestMediaType,
  nextLink,
  sameOrigin,
} from './urls.js';

describe('url helpers', () => {
  it('accepts only distribution repository names', () => {
    for (const ok of ['library/debian', 'a', 'team/sub/app', 'a-b__c.d/e'])
      expect(() => checkRepository(ok)).not.toThrow();
    for (const bad of ['', 'UPPER', '../x', 'a//b', 'a/', 'a b', 'a?b', '-a']) {
      expect(() => checkRepository(bad)).toThrow(/invalid repository name/);
    }
  });

  it('accepts tags and sha256 digests as references', () => {
    checkReference('latest');
    checkReference('1.2.3-rc_1');
    checkReference(`sha256:${'a'.repeat(64)}`);
    for (const bad of ['', '.hidden', 'a/b', 'x'.repeat(129), 'sha256:short', '../../x']) {
      expect(() => checkReference(bad)).toThrow(/invalid tag or digest/);
    }
  });

  it('finds the next page in a Link header', () => {
    expect(nextLink('</v2/a/tags/list?n=2&last=b>; rel="next"')).toBe('/v2/a/tags/list?n=2&last=b');
    expect(nextLink('<https://r/x>; rel="prev", <https://r/y>; rel=next')).toBe('https://r/y');
    expect(nextLink(undefined)).toBeUndefined();
  });

  it('adds query parameters and compares origins', () => {
    expect(addQuery('http://r/v2/a/blobs/uploads/u?_state=s', 'digest', 'sha256:x')).toBe(
      'http://r/v2/a/blobs/uploads/u?_state=s&digest=sha256%3Ax',
    );
    expect(sameOrigin('http://r:5000/a', 'http://r:5000')).toBe(true);
    expect(sameOrigin('http://cdn:5000/a', 'http://r:5000')).toBe(false);
    expect(sameOrigin('https://r:5000/a', 'http://r:5000')).toBe(false);
  });

  it('determines a manifest media type from the header or the document', () => {
    const doc = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));
    expect(manifestMediaType('application/vnd.oci.image.index.v1+json; charset=utf-8', undefined)).toBe(
      MediaType.OciIndex,
    );
    expect(manifestMediaType('application/json', doc({ mediaType: MediaType.DockerManifest }))).toBe(
      MediaType.DockerManifest,
    );
    expect(manifestMediaType('application/json', doc({ schemaVersion: 2, manifests: [] }))).toBe(
      MediaType.OciIndex,
    );
    expect(manifestMediaType(undefined, doc({ schemaVersion: 2, layers: [] }))).toBe(MediaType.OciManifest);
  });
});
