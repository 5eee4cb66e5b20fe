import { describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import { resolveTarget, targetRepository } from './target.js';
import { DEFAULT_TAG_TEMPLATE } from './template.js';

describe('targetRepository', () => {
  it.each([
    ['nginx', undefined, 'docker.io/library/nginx'],
    ['docker.io/library/nginx', undefined, 'docker.io/library/nginx'],
    ['index.docker.io/library/nginx', undefined, 'docker.io/library/nginx'],
    ['quay.io/opstree/redis', undefined, 'quay.io/opstree/redis'],
    ['127.0.0.1:5000/team/app', undefined, '127.0.0.1:5000/team/app'],
    ['quay.io/opstree/redis', 'ghcr.io/myorg', 'ghcr.io/myorg/redis'],
    ['docker.io/library/nginx', 'ghcr.io/myorg', 'ghcr.io/myorg/nginx'],
    ['nginx', 'ghcr.io/myorg/', 'ghcr.io/myorg/nginx'],
    ['nginx', 'ghcr.io/myorg///', 'ghcr.io/myorg/nginx'],
    ['python', 'quay.io/special/python', 'quay.io/special/python/python'],
    ['a/b/c/d', 'localhost:5000', 'localhost:5000/d'],
    ['nginx', '127.0.0.1:5000', '127.0.0.1:5000/nginx'],
    ['nginx', 'myorg', 'docker.io/myorg/nginx'],
  ])('%s with registry %s -> %s', (source, registry, expected) => {
    expect(targetRepository(source, registry)).toBe(expected);
  });

  it.each(['nginx:1.2', 'nginx@sha256:' + 'a'.repeat(64)])(
    'rejects the source %s with a tag or digest',
    (source) => {
      try {
        targetRepository(source);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(CopaError);
        expect((err as CopaError).code).toBe('USAGE');
        expect((err as CopaError).message).toContain('without tag or digest');
      }
    },
  );

  it('rejects an unparsable source with the reference error', () => {
    expect(() => targetRepository('Nginx')).toThrow(/lowercase/);
  });

  it.each(['', 'ghcr.io/My Org', 'ghcr.io/MyOrg', 'ghcr.io/org:tag', 'https://ghcr.io/org'])(
    'rejects the registry %j',
    (registry) => {
      try {
        targetRepository('nginx', registry);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(CopaError);
        expect((err as CopaError).code).toBe('USAGE');
        expect((err as CopaError).message).toContain(JSON.stringify(registry));
        expect((err as CopaError).message).not.toContain('\n');
      }
    },
  );
});

describe('resolveTarget', () => {
  it.each([
    [undefined, undefined, { tag: DEFAULT_TAG_TEMPLATE }],
    [{}, {}, { tag: DEFAULT_TAG_TEMPLATE }],
    [{ registry: 'ghcr.io/g' }, undefined, { registry: 'ghcr.io/g', tag: DEFAULT_TAG_TEMPLATE }],
    [{ registry: 'ghcr.io/g', tag: 'g-{{.SourceTag}}' }, { tag: 'i' }, { registry: 'ghcr.io/g', tag: 'i' }],
    [{ tag: 'g' }, { registry: 'quay.io/i' }, { registry: 'quay.io/i', tag: 'g' }],
    [
      { registry: 'ghcr.io/g', tag: 'g' },
      { registry: 'quay.io/i', tag: 'i' },
      { registry: 'quay.io/i', tag: 'i' },
    ],
    [undefined, { tag: '{{ .SourceTag }}-fixed' }, { tag: '{{ .SourceTag }}-fixed' }],
  ])('global %j + image %j -> %j', (global, image, expected) => {
    expect(resolveTarget(global, image)).toStrictEqual(expected);
  });
});
