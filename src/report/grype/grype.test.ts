import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CopaError } from '../../errors.js';
import { debVersion } from '../../version/deb.js';
import { rpmVersion } from '../../version/rpm.js';
import { UnsupportedReportError } from '../types.js';
import { grypeParser, lowestFixVersion, parseGrypeReport } from './grype.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../testdata/${name}`, import.meta.url));
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/** One Grype match in the real shape, with only the fields that matter to a test. */
function match(id: string, artifact: Record<string, unknown>, fix: { versions: string[]; state: string }) {
  return {
    vulnerability: { id, dataSource: '', severity: 'High', urls: [], cvss: [], fix, advisories: [] },
    relatedVulnerabilities: [],
    matchDetails: [{ type: 'exact-direct-match', matcher: 'dpkg-matcher', searchedBy: {}, found: {} }],
    artifact: { id: 'x', version: '1.0', locations: [{ path: '/var/lib/dpkg/status' }], ...artifact },
  };
}

function report(matches: unknown[], distro = { name: 'debian', version: '12', idLike: [] }) {
  return {
    matches,
    source: { type: 'image', target: { userInput: 'img:1', architecture: 'amd64' } },
    distro,
  };
}

const fixed = (...versions: string[]) => ({ versions, state: 'fixed' });

function failure(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

describe('Grype report parser', () => {
  it('reads a Debian 12 image: OS, arch, name, fixed OS matches with the lowest deb fix version', () => {
    const m = parseGrypeReport(fixture('grype-debian12.json'), 'grype-debian12.json');
    expect([m.source, m.os, m.arch, m.variant, m.artifactName]).toEqual([
      'grype',
      { type: 'debian', version: '12' },
      'amd64',
      undefined,
      'registry.example.com/team/web:1.4.2',
    ]);
    const os = (name: string, installedVersion: string, fixedVersion: string, vulnerabilityID: string) => ({
      name,
      installedVersion,
      fixedVersion,
      vulnerabilityID,
      type: 'debian',
      class: 'os-pkgs',
    });
    expect(m.osUpdates).toEqual([
      os('openssl', '3.0.11-1~deb12u2', '3.0.13-1~deb12u1', 'CVE-2024-0727'),
      os('libssl3', '3.0.11-1~deb12u2', '3.0.13-1~deb12u1', 'CVE-2024-0727'),
      // fix.versions ["3.0.13-1~deb12u1", "3.0.11-1~deb12u3"]: the lowest under deb ordering
      os('libssl3', '3.0.11-1~deb12u2', '3.0.11-1~deb12u3', 'CVE-2023-5678'),
      // listed twice (dpkg-matcher and stock-matcher): kept once
      os('libexpat1', '2.5.0-1', '2.5.0-1+deb12u1', 'CVE-2023-52425'),
    ]);
  });

  it('maps python, npm, Go binary (stdlib kept) and dotnet matches onto Trivy type names and paths', () => {
    const m = parseGrypeReport(fixture('grype-debian12.json'), 'grype-debian12.json');
    expect(m.langUpdates.map((u) => [u.type, u.name, u.installedVersion, u.fixedVersion, u.pkgPath])).toEqual(
      [
        [
          'python-pkg',
          'requests',
          '2.25.0',
          '2.31.0',
          'usr/local/lib/python3.11/site-packages/requests-2.25.0.dist-info/METADATA',
        ],
        [
          'python-pkg',
          'urllib3',
          '1.26.5',
          '1.26.18, 2.0.7',
          'usr/local/lib/python3.11/site-packages/urllib3-1.26.5.dist-info/METADATA',
        ],
        ['node-pkg', 'lodash', '4.17.15', '4.17.19', 'app/node_modules/lodash/package.json'],
        ['gobinary', 'golang.org/x/net', 'v0.17.0', '0.23.0', 'usr/local/bin/app'],
        ['gobinary', 'stdlib', 'go1.21.5', '1.21.11, 1.22.4', 'usr/local/bin/app'],
        ['dotnet-core', 'System.Text.Json', '8.0.0', '8.0.5', 'app/web.deps.json'],
      ],
    );
    expect(m.langUpdates[0]).toMatchObject({ vulnerabilityID: 'GHSA-j8r2-6x86-q33q', class: 'lang-pkgs' });
    expect(m.langUpdates.some((u) => u.name === 'log4j-core' || u.name === 'ip')).toBe(false);
  });

  it('counts each unique vulnerability once: no fix (not-fixed, wont-fix) = skipped, java not counted', () => {
    const m = parseGrypeReport(fixture('grype-debian12.json'), 'grype-debian12.json');
    expect(m.summary).toEqual({
      os: { total: 6, patched: 4, skipped: 2 },
      lang: { total: 7, patched: 6, skipped: 1 },
    });
  });

  it('reads a scratch image without distro: Go binary vs go.mod, variant, no OS updates', () => {
    const m = parseGrypeReport(fixture('grype-scratch-go.json'), 'grype-scratch-go.json');
    expect([m.os, m.arch, m.variant, m.osUpdates]).toEqual([{ type: '', version: '' }, 'arm64', 'v8', []]);
    expect(m.langUpdates.map((u) => [u.type, u.name, u.pkgPath])).toEqual([
      ['gobinary', 'golang.org/x/crypto', 'api'],
      ['gomod', 'google.golang.org/grpc', 'src/go.mod'],
      ['gobinary', 'golang.org/x/net', 'usr/bin/healthcheck'], // no metadataType: not a go.mod
    ]);
    expect(m.summary?.lang).toEqual({ total: 4, patched: 3, skipped: 1 });
  });

  it('keeps OS updates without a distro: the OS-family check belongs to the caller', () => {
    const noDistro = { name: '', version: '', idLike: [] }; // what Grype writes when it found no OS
    const raw = json(report([match('CVE-1', { name: 'curl', type: 'deb' }, fixed('2.0'))], noDistro));
    const m = parseGrypeReport(raw, 'f');
    expect([m.os, m.osUpdates[0]?.type]).toEqual([{ type: '', version: '' }, '']);
  });

  it('de-duplicates by (id, name, version, path) and prefers the copy that has a fix', () => {
    const curl = { name: 'curl', type: 'deb' };
    const raw = json(
      report([
        match('CVE-1', curl, { versions: [], state: 'unknown' }),
        match('CVE-1', curl, fixed('2.0')),
        match('CVE-1', { ...curl, locations: [{ path: '/other' }] }, fixed('2.0')),
        match('CVE-1', { ...curl, version: '1.1' }, fixed('2.0')),
      ]),
    );
    const m = parseGrypeReport(raw, 'f');
    expect(m.osUpdates.map((u) => [u.installedVersion, u.fixedVersion])).toEqual([
      ['1.0', '2.0'],
      ['1.0', '2.0'],
      ['1.1', '2.0'],
    ]);
    expect(m.summary?.os).toEqual({ total: 3, patched: 3, skipped: 0 });
  });

  it('a fixed state without versions, or versions with another state, is no fix', () => {
    const raw = json(
      report([
        match('CVE-1', { name: 'a', type: 'rpm' }, fixed()),
        match('CVE-2', { name: 'b', type: 'apk' }, { versions: ['2.0'], state: 'wont-fix' }),
      ]),
    );
    const m = parseGrypeReport(raw, 'f');
    expect([m.osUpdates, m.summary?.os]).toEqual([[], { total: 2, patched: 0, skipped: 2 }]);
  });

  it('picks the lowest fix version with the scheme of the package type', () => {
    expect(lowestFixVersion(['1:1.0-1', '2.0-1', '1.5-1'], debVersion)).toBe('1.5-1');
    expect(lowestFixVersion(['0:3.0.7-27.el9', '3.0.7-25.el9'], rpmVersion)).toBe('3.0.7-25.el9');
    expect(lowestFixVersion(['not a version!', '1.2-1'], debVersion)).toBe('1.2-1');
    const raw = json(report([match('CVE-1', { name: 'a', type: 'alpm' }, fixed('1:1.0-1', '2.0-1'))]));
    expect(parseGrypeReport(raw, 'f').osUpdates[0]?.fixedVersion).toBe('2.0-1');
  });

  it('one-line REPORT error with a hint for a malformed Grype report', () => {
    const bad = { ...report([match('CVE-1', { name: 42, type: 'deb' }, fixed('2'))]) };
    const err = failure(() => parseGrypeReport(json(bad), 'r.json'));
    expect(err).toBeInstanceOf(CopaError);
    expect(err).not.toBeInstanceOf(UnsupportedReportError);
    expect(err.message).toMatch(/^r\.json is not a valid Grype report: matches\.0\.artifact\.name: /);
    expect(err.message).not.toContain('\n');
    expect((err as CopaError).hint).toMatch(/grype -o json/);
    const noMatches = { matches: null, descriptor: { name: 'grype', version: '0.74.7' } };
    expect(failure(() => parseGrypeReport(json(noMatches), 'r.json')).message).toMatch(
      /^r\.json is not a valid Grype report: matches: /,
    );
  });

  it('UnsupportedReportError for anything that is not Grype', () => {
    for (const raw of [
      fixture('trivy-debian12.json'),
      fixture('native-v1alpha1.json'),
      fixture('not-a-report.json'),
      json({ matches: [] }),
      json({ matches: [], source: {}, apiVersion: 'v1alpha1' }),
      json([]),
      Buffer.from('not json'),
    ]) {
      expect(failure(() => grypeParser.parse(raw, 'f'))).toBeInstanceOf(UnsupportedReportError);
    }
  });

  it('accepts Go nulls and non-image sources (a directory target is a plain string)', () => {
    const dir = {
      matches: [match('CVE-1', { name: 'requests', type: 'python', locations: null }, fixed('2.31.0'))],
      source: { type: 'directory', target: '/src' },
      distro: { name: '', version: '', idLike: null },
      descriptor: { name: 'grype', version: '0.74.7' },
    };
    const m = parseGrypeReport(json(dir), 'f');
    expect([m.arch, m.artifactName, m.langUpdates[0]?.pkgPath]).toEqual(['', undefined, undefined]);
  });
});
