import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  metadataFailure,
  parseAvailableNevras,
  parseCheckUpdate,
  parseRpmQa,
  plannedFromAvailable,
  plannedFromCheckUpdate,
  rpmErrorLine,
} from './parse.js';
import { parseZypperUpdates, plannedFromZypper } from './zypper.js';

const data = (name: string): string => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');

// testdata/*.recorded.* were recorded on this machine from Debian's dnf 4.14 / rpm 4.18 against a local repo;
// *.constructed.* are built from the tool's documented/source output format (tdnf, yum 3, microdnf, zypper
// cannot run here). See README.md.

describe('rpm -qa results', () => {
  it('[recorded] rpm -qa --queryformat: name -> [epoch:]version-release', () => {
    expect(parseRpmQa(data('rpm-qa.recorded.txt'))).toEqual(
      new Map([
        ['copa-hello', '1.0-1'],
        ['copa-epoch', '2:1.0-3.el9'],
        ['copa-a-package-with-a-really-long-name-for-column-wrapping', '1.0-1'],
      ]),
    );
  });

  it('keeps the highest of multilib duplicates and skips gpg-pubkey', () => {
    const text =
      'openssl-libs\t1:3.0.7-24.el9\ti686\nopenssl-libs\t1:3.0.7-25.el9_3\tx86_64\ngpg-pubkey\tfd431d51-4ae0493b\t(none)\n';
    expect(parseRpmQa(text)).toEqual(new Map([['openssl-libs', '1:3.0.7-25.el9_3']]));
  });
});

describe('check-update output', () => {
  it('[recorded] dnf -q check-update: name.arch, evr (with epoch), repo', () => {
    expect(parseCheckUpdate(data('dnf-check-update.recorded.txt'))).toEqual([
      {
        name: 'copa-a-package-with-a-really-long-name-for-column-wrapping',
        arch: 'noarch',
        evr: '2.0-1',
        repo: 'copa-test',
      },
      { name: 'copa-epoch', arch: 'noarch', evr: '2:1.1~rc1-3.el9', repo: 'copa-test' },
      { name: 'copa-hello', arch: 'noarch', evr: '2.0-1', repo: 'copa-test' },
    ]);
  });

  it('[constructed] tdnf check-update: carriage-return overprinted columns', () => {
    expect(parseCheckUpdate(data('tdnf-check-update.constructed.txt'))).toEqual([
      { name: 'openssl', arch: 'x86_64', evr: '3.0.13-6.cm2', repo: 'mariner-official-base' },
      { name: 'openssl-libs', arch: 'x86_64', evr: '3.0.13-6.cm2', repo: 'mariner-official-base' },
      { name: 'curl', arch: 'x86_64', evr: '7.86.0-9.cm2', repo: 'mariner-official-update' },
    ]);
  });

  it('[constructed] yum check-update: stops at "Obsoleting Packages"', () => {
    expect(
      parseCheckUpdate(data('yum-check-update.constructed.txt')).map((u) => `${u.name} ${u.evr}`),
    ).toEqual([
      'openssl 1:1.0.2k-26.el7_9',
      'openssl-libs 1:1.0.2k-26.el7_9',
      'python-perf 3.10.0-1160.119.1.el7',
    ]);
  });

  it('reads a name wrapped onto its own line and ignores notes', () => {
    const text = [
      'Security: kernel-core-5.14.0-362.el9.x86_64 is an installed security update',
      'a-very-long-package-name-that-does-not-fit-the-column.x86_64',
      '                       1.2-3.el9              appstream',
      'zlib.x86_64            1.2.11-40.el9          baseos',
    ].join('\n');
    expect(parseCheckUpdate(text).map((u) => u.name)).toEqual([
      'a-very-long-package-name-that-does-not-fit-the-column',
      'zlib',
    ]);
  });

  it('[constructed] tdnf versions without an epoch keep the installed epoch', () => {
    const installed = new Map([['openssl', '1:3.0.13-5.cm2']]);
    const planned = plannedFromCheckUpdate(
      parseCheckUpdate(data('tdnf-check-update.constructed.txt')),
      installed,
    );
    expect(planned.find((u) => u.name === 'openssl')).toEqual({
      name: 'openssl',
      from: '1:3.0.13-5.cm2',
      to: '1:3.0.13-6.cm2',
    });
    expect(planned.find((u) => u.name === 'curl')?.to).toBe('7.86.0-9.cm2');
  });

  it('plans one update per name (highest version), with the installed version as from', () => {
    const installed = new Map([
      ['copa-hello', '1.0-1'],
      ['copa-epoch', '2:1.0-3.el9'],
    ]);
    expect(
      plannedFromCheckUpdate(parseCheckUpdate(data('dnf-check-update.recorded.txt')), installed),
    ).toEqual([
      { name: 'copa-a-package-with-a-really-long-name-for-column-wrapping', from: undefined, to: '2.0-1' },
      { name: 'copa-epoch', from: '2:1.0-3.el9', to: '2:1.1~rc1-3.el9' },
      { name: 'copa-hello', from: '1.0-1', to: '2.0-1' },
    ]);
  });
});

describe('repoquery output (microdnf has no check-update)', () => {
  it('[recorded] dnf repoquery NEVRAs: epoch 0 dropped, highest per name', () => {
    expect(parseAvailableNevras(data('dnf-repoquery.recorded.txt'))).toEqual(
      new Map([
        ['copa-a-package-with-a-really-long-name-for-column-wrapping', '2.0-1'],
        ['copa-epoch', '2:1.1~rc1-3.el9'],
        ['copa-hello', '2.0-1'],
      ]),
    );
  });

  it('[constructed] microdnf repoquery: updates are the installed packages with a higher version available', () => {
    const available = parseAvailableNevras(data('microdnf-repoquery.constructed.txt'));
    const installed = new Map([
      ['openssl-libs', '1:3.0.7-24.el9'],
      ['curl-minimal', '7.76.1-26.el9_3.3'],
      ['tzdata', '2024a-1.el9'],
      ['bash', '5.1.8-6.el9'],
    ]);
    expect(plannedFromAvailable(installed, available, null)).toEqual([
      { name: 'openssl-libs', from: '1:3.0.7-24.el9', to: '1:3.0.7-25.el9_3' },
    ]);
    expect(plannedFromAvailable(installed, available, ['curl-minimal'])).toEqual([]);
  });
});

describe('zypper list-updates', () => {
  it('[constructed] zypper --xmlout list-updates: package updates, limited to the report names', () => {
    const updates = parseZypperUpdates(data('zypper-list-updates.constructed.xml'));
    expect(updates).toEqual([
      { name: 'libopenssl3', edition: '3.1.4-150600.5.15.1', arch: 'x86_64' },
      { name: 'libzypp', edition: '17.35.8-150600.3.27.1', arch: 'x86_64' },
    ]);
    const installed = new Map([['libopenssl3', '3.1.4-150600.5.10.1']]);
    expect(plannedFromZypper(updates, installed, ['libopenssl3'])).toEqual([
      { name: 'libopenssl3', from: '3.1.4-150600.5.10.1', to: '3.1.4-150600.5.15.1' },
    ]);
  });
});

describe('failures', () => {
  it('[recorded] dnf makecache exits 0 after skipping an unreachable repository: detected', () => {
    expect(metadataFailure(data('dnf-makecache-unreachable.recorded.txt'))).toBe(
      "Error: Failed to download metadata for repo 'copa-broken': Cannot download repomd.xml: Cannot download repodata/repomd.xml: All mirrors were tried",
    );
    expect(metadataFailure(data('dnf-check-update.recorded.txt'))).toBeUndefined();
  });

  it('[recorded] dnf upgrade of an unknown name: the Error and "No match" lines', () => {
    const stdout =
      'Last metadata expiration check: 0:00:15 ago on Tue Nov 24 16:13:18 2026.\nNo match for argument: no-such-package\n';
    expect(rpmErrorLine('Error: No packages marked for upgrade.\n', stdout)).toBe(
      'No match for argument: no-such-package Error: No packages marked for upgrade.',
    );
    expect(rpmErrorLine('', 'some output\nlast line\n')).toBe('last line');
  });
});
