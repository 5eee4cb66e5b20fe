import { describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import {
  familiarString,
  formatReference,
  parseReference,
  repositoryName,
  withDefaultTag,
  type ImageReference,
} from './reference.js';

const D = `sha256:${'a'.repeat(64)}`;
const E = `sha256:${'0123456789abcdef'.repeat(4)}`;

// [input, registry, repository, tag, digest]
const valid: Array<[string, string, string, string?, string?]> = [
  ['nginx', 'docker.io', 'library/nginx'],
  ['nginx:latest', 'docker.io', 'library/nginx', 'latest'],
  ['nginx:1.27.0-alpine', 'docker.io', 'library/nginx', '1.27.0-alpine'],
  ['library/nginx', 'docker.io', 'library/nginx'],
  ['docker.io/nginx', 'docker.io', 'library/nginx'],
  ['docker.io/library/nginx:1', 'docker.io', 'library/nginx', '1'],
  ['index.docker.io/x/y', 'docker.io', 'x/y'],
  ['index.docker.io/nginx', 'docker.io', 'library/nginx'],
  ['user/app', 'docker.io', 'user/app'],
  ['user/app:v1', 'docker.io', 'user/app', 'v1'],
  ['a/b/c/d', 'docker.io', 'a/b/c/d'],
  ['localhost/foo', 'localhost', 'foo'],
  ['localhost:5000/foo', 'localhost:5000', 'foo'],
  ['localhost:5000/foo/bar:tag', 'localhost:5000', 'foo/bar', 'tag'],
  ['127.0.0.1:5000/a/b:c@' + D, '127.0.0.1:5000', 'a/b', 'c', D],
  ['127.0.0.1:5000/a', '127.0.0.1:5000', 'a'],
  ['ghcr.io/org/repo:1.0', 'ghcr.io', 'org/repo', '1.0'],
  ['quay.io/a/b@' + E, 'quay.io', 'a/b', undefined, E],
  ['nginx@' + D, 'docker.io', 'library/nginx', undefined, D],
  ['nginx:1.2@' + D, 'docker.io', 'library/nginx', '1.2', D],
  ['registry:5000/app', 'registry:5000', 'app'],
  ['my-registry.example/a_b/c__d/e-f--g/h.i', 'my-registry.example', 'a_b/c__d/e-f--g/h.i'],
  ['Example.COM/app', 'Example.COM', 'app'],
  ['Upper/app', 'Upper', 'app'],
  ['[::1]:5000/app:x', '[::1]:5000', 'app', 'x'],
  ['[2001:db8::1]/app', '[2001:db8::1]', 'app'],
  ['app:_tag', 'docker.io', 'library/app', '_tag'],
  ['app:Tag.With-Upper_1', 'docker.io', 'library/app', 'Tag.With-Upper_1'],
  ['app:' + 'x'.repeat(128), 'docker.io', 'library/app', 'x'.repeat(128)],
  ['a'.repeat(247), 'docker.io', 'library/' + 'a'.repeat(247)],
  ['foo.bar:9999/x/y:z', 'foo.bar:9999', 'x/y', 'z'],
];

// [input, fragment of the message]
const invalid: Array<[string, string]> = [
  ['', 'empty'],
  [':tag', 'invalid reference format'],
  ['@' + D, 'invalid reference format'],
  ['Nginx', 'lowercase'],
  ['user/App', 'lowercase'],
  ['localhost:5000/Foo', 'lowercase'],
  ['nginx:', 'tag ""'],
  ['nginx:-bad', 'tag "-bad"'],
  ['nginx:' + 'x'.repeat(129), 'longer than 128'],
  ['nginx@sha256:abc', 'sha256:<64'],
  ['nginx@sha256:' + 'a'.repeat(40), '40 hex characters'],
  ['nginx@sha256:' + 'A'.repeat(64), 'lowercase hex'],
  ['nginx@sha512:' + 'a'.repeat(128), 'unsupported digest algorithm "sha512"'],
  ['nginx@md5:' + 'a'.repeat(32), 'unsupported digest algorithm "md5"'],
  ['a'.repeat(64), 'image ID'],
  ['a'.repeat(256), 'longer than 255'],
  ['nginx/', 'invalid reference format'],
  ['/nginx', 'invalid reference format'],
  ['a//b', 'invalid reference format'],
  ['a/-b', 'invalid reference format'],
  ['a/b_', 'invalid reference format'],
  ['a/b___c', 'invalid reference format'],
  ['docker.io/', 'invalid reference format'],
  ['-registry.io/a', 'invalid reference format'],
  ['localhost:port/a', 'invalid reference format'],
  [' nginx', 'invalid reference format'],
  ['nginx ', 'invalid reference format'],
  ['nginx:a:b', 'tag "a:b"'],
  ['http://registry/a', 'invalid reference format'],
  // found by the property test: a first component with a dot but no valid host name (docker leaves the
  // domain empty here; an empty registry reaches nothing)
  ['i_ndex.docker.io/team/app:v1', '"i_ndex.docker.io" is not a valid registry host name'],
];

describe('parseReference (docker normalisation)', () => {
  it.each(valid)('parses %s', (input, registry, repository, tag, digest) => {
    const want: ImageReference = { registry, repository };
    if (tag !== undefined) want.tag = tag;
    if (digest !== undefined) want.digest = digest;
    expect(parseReference(input)).toEqual(want);
  });

  it.each(invalid)('rejects %j', (input, fragment) => {
    let err: unknown;
    try {
      parseReference(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CopaError);
    const ce = err as CopaError;
    expect(ce.code).toBe('REFERENCE');
    expect(ce.message).toContain(fragment);
    expect(ce.message).not.toContain('\n');
    expect(ce.hint).toBeTruthy();
  });

  it('has at least 40 table cases', () => {
    expect(valid.length + invalid.length).toBeGreaterThanOrEqual(40);
  });
});

describe('formatting', () => {
  it('withDefaultTag adds latest only to name-only references', () => {
    expect(withDefaultTag(parseReference('nginx')).tag).toBe('latest');
    expect(withDefaultTag(parseReference('nginx:1')).tag).toBe('1');
    expect(withDefaultTag(parseReference('nginx@' + D))).toEqual({
      registry: 'docker.io',
      repository: 'library/nginx',
      digest: D,
    });
  });

  it('formatReference writes the fully qualified form', () => {
    expect(formatReference(withDefaultTag(parseReference('nginx')))).toBe('docker.io/library/nginx:latest');
    expect(formatReference(parseReference('127.0.0.1:5000/a/b:c@' + D))).toBe(`127.0.0.1:5000/a/b:c@${D}`);
    expect(formatReference(parseReference('user/app'))).toBe('docker.io/user/app');
  });

  it('repositoryName is registry/repository', () => {
    expect(repositoryName(parseReference('nginx:1@' + D))).toBe('docker.io/library/nginx');
    expect(repositoryName(parseReference('localhost:5000/foo'))).toBe('localhost:5000/foo');
  });

  it('familiarString is docker short form', () => {
    expect(familiarString(withDefaultTag(parseReference('docker.io/library/nginx')))).toBe('nginx:latest');
    expect(familiarString(parseReference('index.docker.io/user/app:v1'))).toBe('user/app:v1');
    expect(familiarString(parseReference('docker.io/library/a/b'))).toBe('library/a/b');
    expect(familiarString(parseReference('ghcr.io/o/r@' + D))).toBe(`ghcr.io/o/r@${D}`);
    expect(familiarString(parseReference('localhost:5000/foo:bar'))).toBe('localhost:5000/foo:bar');
  });

  it('round-trips: parse(format(ref)) == ref', () => {
    for (const [input] of valid) {
      const ref = parseReference(input);
      expect(parseReference(formatReference(ref))).toEqual(ref);
      expect(parseReference(familiarString(ref))).toEqual(ref);
    }
  });
});
