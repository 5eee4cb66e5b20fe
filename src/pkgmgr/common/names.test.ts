import { describe, expect, it } from 'vitest';
import { CopaError } from '../../errors.js';
import { validatePackageName, validatePackageNames } from './names.js';

describe('validatePackageName', () => {
  it('accepts real package names of every supported distro', () => {
    const names = [
      'libssl3',
      'libc6',
      'g++-12',
      'libstdc++6',
      'python3.11-minimal',
      'libgnutls30',
      'ca-certificates',
      'openssl-libs',
      'glibc-langpack-en',
      'perl-IO-Socket-SSL',
      'busybox-binsh',
      'libcrypto3',
      'xz-utils',
      'lib32z1',
      '0ad',
      'pkg:with:colons',
      'tilde~name_1',
      'a'.repeat(256),
    ];
    for (const n of names) expect(() => validatePackageName(n), n).not.toThrow();
  });

  it('rejects shell metacharacters with a one-line message', () => {
    let err: unknown;
    try {
      validatePackageName('x;rm -rf /');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CopaError);
    expect((err as CopaError).code).toBe('PACKAGE_NAME');
    expect((err as CopaError).message).toBe(
      'package name "x;rm -rf /" from the report contains characters that are not allowed',
    );
    expect((err as CopaError).hint).toBeTruthy();
  });

  it('rejects names that could be options, paths, globs or substitutions', () => {
    const bad = [
      '',
      '-y',
      '--force',
      '.hidden',
      '_x',
      '../etc',
      'a/b',
      'a b',
      'a*',
      'a?',
      '$(id)',
      '`id`',
      'a|b',
      'a&b',
      'a>b',
      "a'b",
      'a"b',
      'a\nb',
      'a\\b',
      'é',
      'a=1',
      '+x',
      '~x',
    ];
    for (const n of bad) expect(() => validatePackageName(n), JSON.stringify(n)).toThrow(CopaError);
    expect(() => validatePackageName('a\nb')).toThrow(
      'package name "a\\nb" from the report contains characters',
    );
  });

  it('rejects names longer than 256 characters without printing them whole', () => {
    const long = 'a'.repeat(257);
    expect(() => validatePackageName(long)).toThrow(/is longer than 256 characters$/);
    try {
      validatePackageName(long);
    } catch (e) {
      expect((e as Error).message.length).toBeLessThan(200);
    }
  });

  it('validatePackageNames fails on the first bad entry', () => {
    expect(() => validatePackageNames([{ name: 'curl' }, { name: 'x;y' }])).toThrow('"x;y"');
    expect(() => validatePackageNames([{ name: 'curl' }, { name: 'libcurl4' }])).not.toThrow();
  });
});
