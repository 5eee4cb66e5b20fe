import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CopaError } from '../../errors.js';
import { UnsupportedReportError } from '../types.js';
import { parseTrivyReport, trivyParser } from './trivy.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../testdata/${name}`, import.meta.url));

describe('Trivy report parser', () => {
  it('reads a Debian 12 report: OS, arch, fixed OS vulnerabilities only', () => {
    const m = parseTrivyReport(fixture('trivy-debian12.json'), 'trivy-debian12.json');
    expect(m.source).toBe('trivy');
    expect(m.os).toEqual({ type: 'debian', version: '12.5' });
    expect(m.arch).toBe('amd64');
    expect(m.variant).toBeUndefined();
    expect(m.artifactName).toBe('registry.example.com/team/web:1.4.2');
    expect(m.osUpdates).toEqual([
      {
        name: 'libssl3',
        installedVersion: '3.0.11-1~deb12u2',
        fixedVersion: '3.0.13-1~deb12u1',
        vulnerabilityID: 'CVE-2024-0727',
        type: 'debian',
        class: 'os-pkgs',
      },
      {
        name: 'libssl3',
        installedVersion: '3.0.11-1~deb12u2',
        fixedVersion: '3.0.13-1~deb12u1',
        vulnerabilityID: 'CVE-2023-5678',
        type: 'debian',
        class: 'os-pkgs',
      },
      {
        name: 'openssl',
        installedVersion: '3.0.11-1~deb12u2',
        fixedVersion: '3.0.11-1~deb12u3',
        vulnerabilityID: 'CVE-2023-6129',
        type: 'debian',
        class: 'os-pkgs',
      },
      {
        name: 'openssl',
        installedVersion: '3.0.11-1~deb12u2',
        fixedVersion: '3.0.13-1~deb12u1',
        vulnerabilityID: 'CVE-2024-0727',
        type: 'debian',
        class: 'os-pkgs',
      },
    ]);
  });

  it('keeps library vulnerabilities with a fix, with their path; ignores unsupported ecosystems', () => {
    const m = parseTrivyReport(fixture('trivy-debian12.json'), 'f');
    expect(m.langUpdates.map((u) => [u.name, u.fixedVersion, u.type, u.class, u.pkgPath])).toEqual([
      [
        'requests',
        '2.31.0',
        'python-pkg',
        'lang-pkgs',
        'app/.venv/lib/python3.11/site-packages/requests-2.25.1.dist-info/METADATA',
      ],
      [
        'requests',
        '2.32.0',
        'python-pkg',
        'lang-pkgs',
        'app/.venv/lib/python3.11/site-packages/requests-2.25.1.dist-info/METADATA',
      ],
      // a Go binary without PkgPath: the target (binary path) is the path
      ['golang.org/x/net', '0.17.0', 'gobinary', 'lang-pkgs', 'app/web'],
    ]);
  });

  it('a .NET result without PkgPath: the deps.json named by Target is the path', () => {
    const raw = Buffer.from(
      JSON.stringify({
        SchemaVersion: 2,
        Results: [
          {
            Target: 'app/MyApp.deps.json',
            Class: 'lang-pkgs',
            Type: 'dotnet-core',
            Vulnerabilities: [
              {
                VulnerabilityID: 'CVE-2024-43485',
                PkgName: 'System.Text.Json',
                InstalledVersion: '8.0.0',
                FixedVersion: '8.0.5',
              },
            ],
          },
        ],
      }),
    );
    expect(parseTrivyReport(raw, 'f').langUpdates[0]?.pkgPath).toBe('app/MyApp.deps.json');
  });

  it('counts the patch summary: total, patched (has a fix), skipped (no fix)', () => {
    const m = parseTrivyReport(fixture('trivy-debian12.json'), 'f');
    expect(m.summary).toEqual({
      os: { total: 6, patched: 4, skipped: 2 },
      lang: { total: 4, patched: 3, skipped: 1 },
    });
  });

  it('reads arch and variant of an arm64 Alpine report', () => {
    const m = trivyParser.parse(fixture('trivy-alpine.json'), 'trivy-alpine.json');
    expect(m.os).toEqual({ type: 'alpine', version: '3.18.4' });
    expect([m.arch, m.variant]).toEqual(['arm64', 'v8']);
    expect(m.osUpdates.map((u) => `${u.name}=${u.fixedVersion}`)).toEqual([
      'libcrypto3=3.1.4-r0',
      'libssl3=3.1.4-r0',
    ]);
    expect(m.langUpdates).toEqual([]);
  });

  it('accepts a report without vulnerabilities and Go-style nulls', () => {
    const clean = parseTrivyReport(fixture('trivy-clean.json'), 'f');
    expect([clean.osUpdates, clean.langUpdates]).toEqual([[], []]);
    const nulls = Buffer.from(JSON.stringify({ SchemaVersion: 2, Metadata: null, Results: null }));
    expect(parseTrivyReport(nulls, 'f')).toMatchObject({
      os: { type: '', version: '' },
      arch: '',
      osUpdates: [],
    });
  });

  it('says "unsupported" for other documents, so another parser can be tried', () => {
    for (const name of ['native-v1alpha1.json', 'not-a-report.json', 'garbage.txt']) {
      expect(() => parseTrivyReport(fixture(name), name)).toThrow(UnsupportedReportError);
    }
    expect(() => parseTrivyReport(Buffer.from('[1,2]'), 'a.json')).toThrow(UnsupportedReportError);
  });

  it('fails clearly on a Trivy-shaped report with wrong field types', () => {
    const bad = Buffer.from(
      JSON.stringify({
        SchemaVersion: 2,
        Results: [{ Class: 'os-pkgs', Vulnerabilities: [{ PkgName: 7 }] }],
      }),
    );
    let err: unknown;
    try {
      parseTrivyReport(bad, 'bad.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CopaError);
    expect(err).not.toBeInstanceOf(UnsupportedReportError);
    expect((err as CopaError).message).toMatch(
      /^bad\.json is not a valid Trivy report: Results\.0\.Vulnerabilities\.0\.PkgName: /,
    );
  });
});
