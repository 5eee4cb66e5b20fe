import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CopaError } from '../../errors.js';
import { UnsupportedReportError } from '../types.js';
import { nativeParser, parseNativeManifest } from './native.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../testdata/${name}`, import.meta.url));

describe('native update manifests', () => {
  it('reads v1alpha1 (OS updates only)', () => {
    const m = nativeParser.parse(fixture('native-v1alpha1.json'), 'native-v1alpha1.json');
    expect(m).toEqual({
      os: { type: 'debian', version: '11.3' },
      arch: 'amd64',
      osUpdates: [
        {
          name: 'libcurl4',
          installedVersion: '7.74.0-1.3+deb11u1',
          fixedVersion: '7.74.0-1.3+deb11u2',
          vulnerabilityID: 'CVE-2021-22945',
          class: 'os-pkgs',
        },
        {
          name: 'curl',
          installedVersion: '7.74.0-1.3+deb11u1',
          fixedVersion: '7.74.0-1.3+deb11u2',
          vulnerabilityID: 'CVE-2021-22945',
          class: 'os-pkgs',
        },
      ],
      langUpdates: [],
      source: 'native',
    });
  });

  it('reads v1alpha2 (variant, type, separate library updates)', () => {
    const m = nativeParser.parse(fixture('native-v1alpha2.json'), 'native-v1alpha2.json');
    expect([m.arch, m.variant]).toEqual(['arm', 'v7']);
    expect(m.osUpdates).toEqual([
      {
        name: 'libcurl4',
        installedVersion: '7.74.0-1.3+deb11u1',
        fixedVersion: '7.74.0-1.3+deb11u2',
        vulnerabilityID: 'CVE-2021-22945',
        type: 'debian',
        class: 'os-pkgs',
      },
    ]);
    expect(m.langUpdates).toEqual([
      {
        name: 'requests',
        installedVersion: '2.25.1',
        fixedVersion: '2.31.0',
        vulnerabilityID: 'CVE-2023-32681',
        type: 'python-pkg',
        class: 'lang-pkgs',
      },
    ]);
  });

  it('accepts Go-style null lists, missing metadata and camel-cased list names', () => {
    const m1 = parseNativeManifest({ apiVersion: 'v1alpha1', updates: null }, 'x', 'plugin');
    expect(m1).toEqual({
      os: { type: '', version: '' },
      arch: '',
      osUpdates: [],
      langUpdates: [],
      source: 'plugin',
    });
    const m2 = parseNativeManifest(
      {
        apiVersion: 'v1alpha2',
        metadata: { os: { type: 'ubuntu', version: '22.04' } },
        osUpdates: [{ name: 'zlib1g', fixedVersion: '1:1.2.11' }],
      },
      'x',
      'native',
    );
    expect(m2.osUpdates).toEqual([
      {
        name: 'zlib1g',
        installedVersion: '',
        fixedVersion: '1:1.2.11',
        vulnerabilityID: '',
        class: 'os-pkgs',
      },
    ]);
  });

  it('rejects an unknown or missing apiVersion as unsupported', () => {
    expect(() => nativeParser.parse(fixture('native-unknown-api.json'), 'n.json')).toThrow(
      UnsupportedReportError,
    );
    expect(() => nativeParser.parse(fixture('native-unknown-api.json'), 'n.json')).toThrow(
      'n.json: unsupported apiVersion "v1beta1"',
    );
    expect(() => parseNativeManifest({ updates: [] }, 'n.json', 'native')).toThrow(
      /unsupported apiVersion missing/,
    );
    expect(() => parseNativeManifest([1], 'n.json', 'native')).toThrow(UnsupportedReportError);
    expect(() => nativeParser.parse(fixture('garbage.txt'), 'garbage.txt')).toThrow(
      /garbage\.txt is not JSON/,
    );
  });

  it('names the bad field of a malformed manifest', () => {
    const bad = { apiVersion: 'v1alpha2', osupdates: [{ name: 'curl', fixedVersion: 8 }] };
    let err: unknown;
    try {
      parseNativeManifest(bad, 'm.json', 'native');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CopaError);
    expect(err).not.toBeInstanceOf(UnsupportedReportError);
    expect((err as CopaError).message).toMatch(
      /^m\.json is not a valid v1alpha2 update manifest: osupdates\.0\.fixedVersion: /,
    );
  });
});
