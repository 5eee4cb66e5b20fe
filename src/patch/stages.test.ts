import { describe, expect, it } from 'vitest';
import type { UpdateManifest, UpdatePackage } from '../report/types.js';
import { checkLibraryOptions, within } from './libraries.js';
import { PatchOptionsSchema } from './options.js';
import { stagesFor } from './stages.js';

const pkg = (name: string, cls: 'os-pkgs' | 'lang-pkgs'): UpdatePackage => ({
  name,
  installedVersion: '1',
  fixedVersion: '2',
  vulnerabilityID: 'CVE-1',
  class: cls,
});
const manifest = (os: number, lang: number): UpdateManifest => ({
  os: { type: os ? 'debian' : '', version: os ? '12' : '' },
  arch: 'amd64',
  osUpdates: Array.from({ length: os }, (_, i) => pkg(`o${i}`, 'os-pkgs')),
  langUpdates: Array.from({ length: lang }, (_, i) => pkg(`l${i}`, 'lang-pkgs')),
  source: 'trivy',
});
const opts = (extra: object = {}) => PatchOptionsSchema.parse({ image: 'x', ...extra });

describe('which stages run', () => {
  it('update-all (no report): the OS only', () => {
    expect(stagesFor(opts({ pkgTypes: ['os', 'library'] }), undefined)).toEqual({
      os: true,
      libraries: false,
    });
  });
  it('--pkg-types os (default): library findings are left alone', () => {
    expect(stagesFor(opts(), manifest(2, 3))).toEqual({ os: true, libraries: false });
  });
  it('os,library with both halves: both run', () => {
    expect(stagesFor(opts({ pkgTypes: ['os', 'library'] }), manifest(2, 3))).toEqual({
      os: true,
      libraries: true,
    });
  });
  it("language-only report: the OS stage is skipped (Copa's language-only mode: scratch images work)", () => {
    expect(stagesFor(opts({ pkgTypes: ['os', 'library'] }), manifest(0, 3))).toEqual({
      os: false,
      libraries: true,
    });
  });
  it('--pkg-types library: never the OS', () => {
    expect(stagesFor(opts({ pkgTypes: ['library'] }), manifest(2, 3))).toEqual({
      os: false,
      libraries: true,
    });
  });
  it('a report with nothing at all still checks the OS (and finds it up to date)', () => {
    expect(stagesFor(opts({ pkgTypes: ['os', 'library'] }), manifest(0, 0))).toEqual({
      os: true,
      libraries: false,
    });
  });
});

describe("Copa's flag rules", () => {
  it('library needs a report', () => {
    expect(() => checkLibraryOptions(opts({ pkgTypes: ['library'] }), false)).toThrow(
      /needs a scanner report/,
    );
    expect(() => checkLibraryOptions(opts({ pkgTypes: ['library'] }), true)).not.toThrow();
  });
  it('a level other than patch needs library in --pkg-types', () => {
    expect(() => checkLibraryOptions(opts({ libraryPatchLevel: 'minor' }), true)).toThrow(/--pkg-types/);
    expect(() =>
      checkLibraryOptions(opts({ libraryPatchLevel: 'minor', pkgTypes: ['os', 'library'] }), true),
    ).not.toThrow();
  });
});

describe('VEX matching of library changes', () => {
  it('a report path is covered by the changed dir (venv, app dir) or is the changed file (a Go binary)', () => {
    const venvMeta = 'app/venv/lib/python3.11/site-packages/urllib3-1.26.4.dist-info/METADATA';
    expect(within(venvMeta, '/app/venv')).toBe(true);
    expect(within('usr/local/bin/hey', '/usr/local/bin/hey')).toBe(true);
    expect(within('app2/node_modules/x/package.json', '/app')).toBe(false);
    expect(within('usr/local/bin/hey2', 'usr/local/bin/hey')).toBe(false);
    expect(within('anything', '')).toBe(true);
  });
});
