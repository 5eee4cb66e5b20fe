import { describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import { libraryOptions } from './library-flags.js';

const on = { COPA_EXPERIMENTAL: '1' };

describe('library flags', () => {
  it('refuse the experimental flags without COPA_EXPERIMENTAL=1, naming the variable', () => {
    for (const flags of [
      { pkgTypes: 'os,library' },
      { libraryPatchLevel: 'minor' },
      { toolchainPatchLevel: true },
      { goVcsUrl: 'https://example.test/a/b@v1' },
    ]) {
      expect(() => libraryOptions(flags, {})).toThrow(/COPA_EXPERIMENTAL=1/);
      try {
        libraryOptions(flags, {});
      } catch (e) {
        expect((e as CopaError).code).toBe('USAGE');
      }
    }
  });

  it('index and CA flags need no experiment switch', () => {
    expect(libraryOptions({ pipIndexUrl: 'http://127.0.0.1:1/simple', caCerts: '/x.pem' }, {})).toEqual({
      pipIndexUrl: 'http://127.0.0.1:1/simple',
      caCerts: '/x.pem',
    });
  });

  it('parse --pkg-types as Copa does (comma list of os and library, anything else an error)', () => {
    expect(libraryOptions({ pkgTypes: 'os,library' }, on).pkgTypes).toEqual(['os', 'library']);
    expect(libraryOptions({ pkgTypes: 'library' }, on).pkgTypes).toEqual(['library']);
    expect(libraryOptions({ pkgTypes: ' library , os ,library' }, on).pkgTypes).toEqual(['library', 'os']);
    expect(() => libraryOptions({ pkgTypes: 'os,lang' }, on)).toThrow(/unknown type "lang"/);
  });

  it('levels: patch, minor, major; a bare --toolchain-patch-level means patch', () => {
    expect(libraryOptions({ libraryPatchLevel: 'major' }, on).libraryPatchLevel).toBe('major');
    expect(() => libraryOptions({ libraryPatchLevel: 'huge' }, on)).toThrow(/patch, minor or major/);
    expect(libraryOptions({ toolchainPatchLevel: true }, on).toolchainPatchLevel).toBe('patch');
    expect(libraryOptions({ toolchainPatchLevel: 'minor' }, on).toolchainPatchLevel).toBe('minor');
  });
});
