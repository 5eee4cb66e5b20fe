import { describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import {
  formatPlatform,
  hostPlatform,
  indexPlatforms,
  isAttestation,
  normalizePlatform,
  parsePlatform,
  platformEquals,
  selectManifest,
} from './platform.js';
import type { Descriptor, Index } from './schemas.js';

const hex = (c: string) => `sha256:${c.repeat(64)}`;
const desc = (
  c: string,
  platform?: Descriptor['platform'],
  annotations?: Record<string, string>,
): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: hex(c),
  size: 100,
  ...(platform ? { platform } : {}),
  ...(annotations ? { annotations } : {}),
});

const index: Index = {
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  manifests: [
    desc('1', { os: 'linux', architecture: 'amd64' }),
    desc('2', { os: 'linux', architecture: 'arm64', variant: 'v8' }),
    desc('3', { os: 'linux', architecture: 'arm', variant: 'v7' }),
    desc('4', { os: 'linux', architecture: 'arm', variant: 'v6' }),
    desc(
      '5',
      { os: 'unknown', architecture: 'unknown' },
      { 'vnd.docker.reference.type': 'attestation-manifest' },
    ),
    desc('6', { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1' }),
    desc('7'),
  ],
};

describe('parsePlatform / formatPlatform', () => {
  it.each([
    ['linux/amd64', { os: 'linux', architecture: 'amd64' }],
    ['linux/arm/v7', { os: 'linux', architecture: 'arm', variant: 'v7' }],
    ['linux/arm64/v8', { os: 'linux', architecture: 'arm64', variant: 'v8' }],
  ])('parses %s', (s, want) => {
    expect(parsePlatform(s)).toEqual(want);
    expect(formatPlatform(parsePlatform(s))).toBe(s);
  });

  it.each(['', 'linux', 'linux/', '/amd64', 'linux/arm/v7/x', 'linux/am d64'])('rejects %j', (s) => {
    expect(() => parsePlatform(s)).toThrow(CopaError);
    try {
      parsePlatform(s);
    } catch (e) {
      expect((e as CopaError).code).toBe('PLATFORM');
      expect((e as CopaError).hint).toContain('os/arch');
    }
  });
});

describe('normalizePlatform', () => {
  it.each([
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/arm64', 'linux/arm64'],
    ['linux/arm', 'linux/arm'],
    ['linux/arm/7', 'linux/arm/v7'],
    ['linux/aarch64', 'linux/arm64'],
    ['linux/x86_64', 'linux/amd64'],
    ['linux/amd64/v1', 'linux/amd64'],
    ['linux/amd64/v3', 'linux/amd64/v3'],
    ['Linux/AMD64', 'linux/amd64'],
    ['linux/i686', 'linux/386'],
    ['linux/armhf', 'linux/arm/v7'],
  ])('%s -> %s', (input, want) => {
    expect(formatPlatform(normalizePlatform(parsePlatform(input)))).toBe(want);
  });

  it('keeps os.version and has no variant key when dropped', () => {
    const p = normalizePlatform({ os: 'linux', architecture: 'arm64', variant: 'v8', 'os.version': '1' });
    expect(p).toEqual({ os: 'linux', architecture: 'arm64', 'os.version': '1' });
    expect('variant' in p).toBe(false);
  });

  it('platformEquals compares after normalisation, exactly', () => {
    expect(platformEquals(parsePlatform('linux/arm64/v8'), parsePlatform('linux/arm64'))).toBe(true);
    expect(platformEquals(parsePlatform('linux/arm/v7'), parsePlatform('linux/arm'))).toBe(false);
    expect(platformEquals(parsePlatform('linux/amd64'), parsePlatform('linux/386'))).toBe(false);
  });
});

describe('hostPlatform', () => {
  it('maps process.arch to Go names', () => {
    const p = hostPlatform();
    expect(p.os).toBe('linux');
    const want: Record<string, string> = {
      x64: 'amd64',
      arm64: 'arm64',
      arm: 'arm',
      ia32: '386',
      s390x: 's390x',
    };
    expect(p.architecture).toBe(want[process.arch] ?? p.architecture);
    if (p.architecture === 'arm') expect(p.variant).toMatch(/^v\d$/);
    else expect(p.variant).toBeUndefined();
  });
});

describe('selectManifest', () => {
  it('picks the exact platform, normalising arm64/v8', () => {
    expect(selectManifest(index, parsePlatform('linux/amd64')).digest).toBe(hex('1'));
    expect(selectManifest(index, parsePlatform('linux/arm64')).digest).toBe(hex('2'));
    expect(selectManifest(index, parsePlatform('linux/arm64/v8')).digest).toBe(hex('2'));
    expect(selectManifest(index, parsePlatform('linux/arm/v6')).digest).toBe(hex('4'));
    expect(selectManifest(index, parsePlatform('windows/amd64')).digest).toBe(hex('6'));
  });

  it('does not fuzzy-match and never returns attestations', () => {
    expect(() => selectManifest(index, parsePlatform('linux/arm'))).toThrow(
      'no manifest for linux/arm in the image index; available: linux/amd64, linux/arm64, linux/arm/v7, linux/arm/v6, windows/amd64',
    );
    expect(() => selectManifest(index, parsePlatform('unknown/unknown'), 'nginx:1')).toThrow(
      /no manifest for unknown\/unknown in nginx:1/,
    );
    try {
      selectManifest(index, parsePlatform('linux/386'));
    } catch (e) {
      expect((e as CopaError).code).toBe('PLATFORM');
    }
  });

  it('isAttestation and indexPlatforms', () => {
    expect(index.manifests.map(isAttestation)).toEqual([false, false, false, false, true, false, false]);
    expect(isAttestation(desc('8', { os: 'unknown', architecture: 'unknown' }))).toBe(true);
    expect(indexPlatforms(index).map(formatPlatform)).toEqual([
      'linux/amd64',
      'linux/arm64/v8',
      'linux/arm/v7',
      'linux/arm/v6',
      'windows/amd64',
    ]);
  });
});
