import { describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import { parseTagVersion, selectTags, versionedTags } from './tags.js';

describe('parseTagVersion', () => {
  it.each([
    ['1', [1n, 0n, 0n]],
    ['1.2', [1n, 2n, 0n]],
    ['1.2.3', [1n, 2n, 3n]],
    ['v1.2.3', [1n, 2n, 3n]],
    ['22.04', [22n, 4n, 0n]],
    ['01.002.0003', [1n, 2n, 3n]],
    ['9223372036854775807', [9223372036854775807n, 0n, 0n]],
  ])('%s is a stable version', (tag, [major, minor, patch]) => {
    expect(parseTagVersion(tag)).toStrictEqual({ major, minor, patch });
  });

  it.each([
    ['1.2.3-alpine', 'alpine'],
    ['1.25-bookworm', 'bookworm'],
    ['3.12.1-slim-bookworm', 'slim-bookworm'],
    ['1.0.0-rc.1', 'rc.1'],
    ['v2-beta', 'beta'],
  ])('%s has the prerelease %s', (tag, prerelease) => {
    expect(parseTagVersion(tag)?.prerelease).toBe(prerelease);
  });

  it('reads build metadata', () => {
    expect(parseTagVersion('1.2.3+build.5')).toStrictEqual({
      major: 1n,
      minor: 2n,
      patch: 3n,
      build: 'build.5',
    });
  });

  it.each([
    'latest',
    'bookworm',
    'stable-slim',
    '',
    'v',
    '1.2.3.4',
    '1..2',
    '.1',
    '1.',
    'V1.2',
    'vv1',
    '1.2.3-',
    '1.2.3-a..b',
    '1.2.3_1',
    'sha256-abc',
    '9223372036854775808',
  ])('%j is not a version', (tag) => {
    expect(parseTagVersion(tag)).toBeUndefined();
  });
});

const NGINX = [
  'latest',
  'stable',
  'mainline',
  '1.20.0',
  '1.20.1',
  '1.20.2',
  '1.21.6',
  '1.24.0',
  '1.25.3',
  '1.25.3-alpine',
  '1.25',
  '1.25-bookworm',
  '1.26.0-rc1',
  '1.19.10',
  '1.3.0',
  'v1.25.4',
  '1.25.03',
];

describe('selectTags', () => {
  it('list: the list verbatim, without looking at the registry or exclude', () => {
    expect(
      selectTags({ strategy: 'list', list: ['b', 'a', '1.2-alpine'], exclude: ['a'] }, []),
    ).toStrictEqual(['b', 'a', '1.2-alpine']);
  });

  it.each([
    [
      { pattern: '^1\\.2[0-9]\\.[0-9]+$' },
      ['1.20.0', '1.20.1', '1.20.2', '1.21.6', '1.24.0', '1.25.03', '1.25.3'],
    ],
    [
      { pattern: '^1\\.2[0-9]\\.[0-9]+$', exclude: ['1.20.0', '1.20.1', '1.25.03'], maxTags: 3 },
      ['1.21.6', '1.24.0', '1.25.3'],
    ],
    [
      { pattern: '^1\\.2[0-9]\\.[0-9]+$', maxTags: 0 },
      ['1.20.0', '1.20.1', '1.20.2', '1.21.6', '1.24.0', '1.25.03', '1.25.3'],
    ],
    [
      { pattern: '^1\\.2[0-9]\\.[0-9]+$', maxTags: 100 },
      ['1.20.0', '1.20.1', '1.20.2', '1.21.6', '1.24.0', '1.25.03', '1.25.3'],
    ],
    [{ pattern: '^1\\.25' }, ['1.25', '1.25.03', '1.25.3']],
    [{ pattern: '1\\.25', maxTags: 2 }, ['1.25.3', 'v1.25.4']],
    [{ pattern: 'alpine|bookworm|rc' }, []],
    [{ pattern: '^1\\.(3|19|20)\\.' }, ['1.3.0', '1.19.10', '1.20.0', '1.20.1', '1.20.2']],
    [{ pattern: 'nothing-matches' }, []],
  ])('pattern %j', (extra, expected) => {
    expect(selectTags({ strategy: 'pattern', ...extra }, NGINX)).toStrictEqual(expected);
  });

  it('pattern: Ubuntu LTS tags, numeric order', () => {
    const ubuntu = ['24.04', '18.04', '22.04', '20.04', '22.10', 'jammy', 'noble', '24.04-rc'];
    expect(
      selectTags({ strategy: 'pattern', pattern: '^(20|22|24)\\.04$', maxTags: 2 }, ubuntu),
    ).toStrictEqual(['22.04', '24.04']);
  });

  it('pattern: the result does not depend on the order of the available tags', () => {
    const spec = { strategy: 'pattern' as const, pattern: '.' };
    const sorted = selectTags(spec, NGINX);
    expect(selectTags(spec, [...NGINX].reverse())).toStrictEqual(sorted);
    expect(sorted.at(-1)).toBe('v1.25.4');
  });

  it('pattern: equal versions are ordered by the tag string', () => {
    expect(
      selectTags({ strategy: 'pattern', pattern: '.' }, ['v1.2', '1.2.0', '1.2', 'v1.2.0']),
    ).toStrictEqual(['1.2', '1.2.0', 'v1.2', 'v1.2.0']);
  });

  it('pattern: numeric, not lexical, comparison of large parts', () => {
    expect(
      selectTags({ strategy: 'pattern', pattern: '.' }, [
        '10.0.0',
        '9.99.99',
        '100000000000000000000.0',
        '2',
      ]),
    ).toStrictEqual(['2', '9.99.99', '10.0.0']);
  });

  it('pattern without pattern is a usage error', () => {
    expect(() => selectTags({ strategy: 'pattern' }, NGINX)).toThrow(CopaError);
  });

  it.each([
    [{}, NGINX, ['v1.25.4']],
    [{ exclude: ['v1.25.4'] }, NGINX, ['1.25.3']],
    [{ exclude: ['v1.25.4', '1.25.3'] }, NGINX, ['1.25.03']],
    [{}, ['latest', 'bookworm', '1.2.3-alpine', '2.0.0-rc1'], []],
    [{}, [], []],
    [{}, ['3.19', '3.18.4', '3.9'], ['3.19']],
  ])('latest %j', (extra, available, expected) => {
    expect(selectTags({ strategy: 'latest', ...extra }, available)).toStrictEqual(expected);
  });
});

describe('versionedTags', () => {
  const base = '1.25.3-patched';
  it.each([
    [[], { next: base }],
    [['1.25.3', 'latest'], { next: base }],
    [[base], { latest: base, next: `${base}-1` }],
    [[`${base}-1`, base], { latest: `${base}-1`, next: `${base}-2` }],
    [[base, `${base}-2`, `${base}-10`, `${base}-9`], { latest: `${base}-10`, next: `${base}-11` }],
    [
      [base, `${base}-amd64`, `${base}-arm64`, `${base}-arm-v7`, `${base}-386`],
      { latest: base, next: `${base}-1` },
    ],
    [
      [base, `${base}-0`, `${base}-x1`, `${base}-1a`, `${base}-`, `${base}-1-1`],
      { latest: base, next: `${base}-1` },
    ],
    [[`${base}-3`], { latest: `${base}-3`, next: `${base}-4` }],
    [[`${base}-03`, `${base}-2`], { latest: `${base}-03`, next: `${base}-4` }],
    [['1.25.3-patched-fixed', '1.25.3-patch'], { next: base }],
    [
      [`${base}-99999999999999999999`],
      { latest: `${base}-99999999999999999999`, next: `${base}-100000000000000000000` },
    ],
  ])('%j -> %j', (existing, expected) => {
    expect(versionedTags(base, existing)).toStrictEqual(expected);
  });

  it('does not treat regex characters in the base specially', () => {
    expect(versionedTags('1.2', ['1x2', '1x2-1'])).toStrictEqual({ next: '1.2' });
  });

  it('rejects a next tag longer than 128 characters', () => {
    const long = 'a'.repeat(127);
    expect(() => versionedTags(long, [long])).toThrow(/not a valid tag/);
  });
});
