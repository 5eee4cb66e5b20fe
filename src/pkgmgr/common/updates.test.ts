import { describe, expect, it } from 'vitest';
import { CopaError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { UpdatePackage } from '../../report/types.js';
import { debVersion } from '../../version/deb.js';
import { uniqueLatestUpdates, validateInstalled } from './updates.js';

function pkg(name: string, fixedVersion: string, vulnerabilityID = 'CVE-2024-0001'): UpdatePackage {
  return { name, installedVersion: '0', fixedVersion, vulnerabilityID, type: 'debian', class: 'os-pkgs' };
}

function recorder(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  return { logger: { debug() {}, info() {}, warn: (m) => void warnings.push(m) }, warnings };
}

function thrown(f: () => unknown): CopaError {
  try {
    f();
  } catch (e) {
    if (e instanceof CopaError) return e;
    throw e;
  }
  throw new Error('expected a CopaError');
}

describe('uniqueLatestUpdates', () => {
  it('keeps one entry per package with the highest fixed version (Debian rules), sorted by name', () => {
    const out = uniqueLatestUpdates(
      [
        pkg('openssl', '3.0.11-1~deb12u3', 'CVE-2023-6129'),
        pkg('libssl3', '3.0.13-1~deb12u1', 'CVE-2024-0727'),
        pkg('openssl', '3.0.13-1~deb12u1', 'CVE-2024-0727'),
        pkg('openssl', '3.0.13-1~deb12u1~rc1', 'CVE-2024-0001'),
        pkg('libc6', '2.36-9+deb12u10', 'CVE-2025-1'),
        pkg('libc6', '2.36-9+deb12u9', 'CVE-2025-2'),
        pkg('zlib1g', '1:1.2.13.dfsg-1', 'CVE-2023-45853'),
        pkg('zlib1g', '1.3.dfsg-1', 'CVE-2023-45854'),
      ],
      debVersion,
    );
    expect(out.map((u) => [u.name, u.fixedVersion, u.vulnerabilityID])).toEqual([
      ['libc6', '2.36-9+deb12u10', 'CVE-2025-1'],
      ['libssl3', '3.0.13-1~deb12u1', 'CVE-2024-0727'],
      ['openssl', '3.0.13-1~deb12u1', 'CVE-2024-0727'],
      ['zlib1g', '1:1.2.13.dfsg-1', 'CVE-2023-45853'],
    ]);
  });

  it('keeps the first of equal versions and returns [] for no updates', () => {
    const out = uniqueLatestUpdates(
      [pkg('curl', '7.88.1-10', 'A'), pkg('curl', '0:7.88.1-10', 'B')],
      debVersion,
    );
    expect(out.map((u) => u.vulnerabilityID)).toEqual(['A']);
    expect(uniqueLatestUpdates([], debVersion)).toEqual([]);
  });

  it('fails on an invalid fixed version, listing every offender', () => {
    const err = thrown(() =>
      uniqueLatestUpdates([pkg('curl', 'latest'), pkg('libc6', '2.36-9'), pkg('tar', '')], debVersion),
    );
    expect(err.code).toBe('REPORT');
    expect(err.message).toBe(
      'invalid version "latest" found for package curl; invalid version "" found for package tar',
    );
  });

  it('with ignoreErrors drops invalid entries with a warning and keeps valid ones of the same package', () => {
    const { logger, warnings } = recorder();
    const out = uniqueLatestUpdates([pkg('curl', 'x1'), pkg('curl', '7.88.1-10+deb12u5')], debVersion, {
      ignoreErrors: true,
      logger,
    });
    expect(out.map((u) => u.fixedVersion)).toEqual(['7.88.1-10+deb12u5']);
    expect(warnings).toEqual(['invalid version "x1" found for package curl; ignoring it (--ignore-errors)']);
  });
});

describe('validateInstalled', () => {
  const required = [
    pkg('libssl3', '3.0.13-1~deb12u1'),
    pkg('openssl', '3.0.13-1~deb12u1'),
    pkg('libc6', '2.36-9+deb12u4'),
  ];

  it('accepts equal and higher installed versions', () => {
    const installed = new Map([
      ['libssl3', '3.0.13-1~deb12u1'],
      ['openssl', '3.0.15-1~deb12u1'],
      ['libc6', '2.36-9+deb12u10'],
      ['bash', '5.2.15-2+b7'],
    ]);
    const r = validateInstalled(required, installed, debVersion);
    expect(r.ok.map((u) => u.name)).toEqual(['libssl3', 'openssl', 'libc6']);
    expect([r.failed, r.missing]).toEqual([[], []]);
  });

  it("fails with Copa's message for every package below its fixed version", () => {
    const installed = new Map([
      ['libssl3', '3.0.11-1~deb12u2'],
      ['openssl', '3.0.13-1~deb12u1~pre1'],
      ['libc6', '2.36-9+deb12u4'],
    ]);
    const err = thrown(() => validateInstalled(required, installed, debVersion));
    expect(err.code).toBe('VALIDATION');
    expect(err.message).toBe(
      'downloaded package libssl3 version 3.0.11-1~deb12u2 lower than required 3.0.13-1~deb12u1 for update; ' +
        'downloaded package openssl version 3.0.13-1~deb12u1~pre1 lower than required 3.0.13-1~deb12u1 for update',
    );
    expect(err.hint).toMatch(/--ignore-errors/);
  });

  it('with ignoreErrors returns the offenders and warns', () => {
    const { logger, warnings } = recorder();
    const installed = new Map([
      ['libssl3', '3.0.11-1~deb12u2'],
      ['openssl', '3.0.13-1~deb12u1'],
      ['libc6', '2.36-9+deb12u4'],
    ]);
    const r = validateInstalled(required, installed, debVersion, { ignoreErrors: true, logger });
    expect(r.failed).toEqual([
      {
        name: 'libssl3',
        installed: '3.0.11-1~deb12u2',
        required: '3.0.13-1~deb12u1',
        message:
          'downloaded package libssl3 version 3.0.11-1~deb12u2 lower than required 3.0.13-1~deb12u1 for update',
      },
    ]);
    expect(r.ok.map((u) => u.name)).toEqual(['openssl', 'libc6']);
    expect(warnings).toEqual([r.failed[0]?.message]);
  });

  it('only warns about a package that is gone after the update', () => {
    const { logger, warnings } = recorder();
    const installed = new Map([
      ['libssl3', '3.0.13-1~deb12u1'],
      ['libc6', '2.36-9+deb12u4'],
    ]);
    const r = validateInstalled(required, installed, debVersion, { logger });
    expect(r.missing.map((u) => u.name)).toEqual(['openssl']);
    expect(r.failed).toEqual([]);
    expect(warnings).toEqual([
      'package openssl is not installed after the update; it may have been uninstalled during upgrade',
    ]);
  });

  it('treats an uncomparable installed version as a failure', () => {
    const err = thrown(() =>
      validateInstalled([pkg('curl', '7.88.1-10')], new Map([['curl', 'broken version']]), debVersion),
    );
    expect(err.message).toBe('invalid version "broken version" found for installed package curl');
  });
});
