import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aptErrorLine, parseAptSimulation, parseDpkgStatus, parseHeld, updateFailure } from './parse.js';

describe('dpkg/apt parsers', () => {
  it('reads installed packages from a status file and ignores removed ones', () => {
    const status = [
      'Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.0.20-1~deb12u2\n',
      'Package: oldpkg\nStatus: deinstall ok config-files\nVersion: 1.0\n',
      'Package: nover\nStatus: install ok installed\n',
      'Package: base-files\nStatus: install ok installed\nVersion: 12.4+deb12u11\nDescription: x\n multi\n line',
    ].join('\n');
    const m = parseDpkgStatus(status);
    expect([...m.entries()]).toEqual([
      ['libssl3', '3.0.20-1~deb12u2'],
      ['base-files', '12.4+deb12u11'],
    ]);
  });

  it('parses apt-get -s Inst lines, with and without an old version', () => {
    const sim = [
      'Reading package lists...',
      'Inst libssl3 [3.0.20-1~deb12u2] (3.0.22-1~deb12u2 Debian-Security:12/oldstable-security [amd64])',
      'Inst perl [5.36.0-7+deb12u3] (5.36.0-7+deb12u4 Debian-Security:12/oldstable-security [amd64]) []',
      'Inst newdep (1.2-3 Debian:12.11/oldstable [amd64])',
      'Conf libssl3 (3.0.22-1~deb12u2 Debian-Security:12/oldstable-security [amd64])',
      'Inst libc6:amd64 [2.36-9] (2.36-9+deb12u4 Debian:12/oldstable [amd64])',
    ].join('\n');
    expect(parseAptSimulation(sim)).toEqual([
      { name: 'libssl3', from: '3.0.20-1~deb12u2', to: '3.0.22-1~deb12u2' },
      { name: 'perl', from: '5.36.0-7+deb12u3', to: '5.36.0-7+deb12u4' },
      { name: 'newdep', from: undefined, to: '1.2-3' },
      { name: 'libc6', from: '2.36-9', to: '2.36-9+deb12u4' },
    ]);
  });

  it('reads held packages from the status file as the real `apt-mark showhold` lists them', () => {
    // this machine's dpkg status with two installed packages put on hold (and one deinstall, not held)
    const stanzas = readFileSync('/var/lib/dpkg/status', 'utf8').split(/\n\n+/).filter(Boolean);
    const installed = stanzas.filter((st) => /^Status: install ok installed$/m.test(st));
    expect(installed.length).toBeGreaterThan(3);
    const edited = installed.map((st, i) =>
      i < 2
        ? st.replace(/^Status: install /m, 'Status: hold ')
        : i === 2
          ? st.replace(/^Status: install /m, 'Status: deinstall ')
          : st,
    );
    const dir = mkdtempSync(join(tmpdir(), 'copa-held-'));
    try {
      const file = join(dir, 'status');
      writeFileSync(file, `${edited.join('\n\n')}\n`);
      const real = execFileSync(
        'apt-mark',
        [
          '-o',
          `Dir::State::status=${file}`,
          '-o',
          'Dir::Cache::pkgcache=',
          '-o',
          'Dir::Cache::srcpkgcache=',
          'showhold',
        ],
        { encoding: 'utf8' },
      );
      const fromApt = real
        .split('\n')
        .filter(Boolean)
        .map((n) => n.replace(/:[a-z0-9]+$/, ''));
      expect(fromApt).toHaveLength(2);
      expect(parseHeld(readFileSync(file, 'utf8')).sort()).toEqual(fromApt.sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('picks apt error lines', () => {
    expect(aptErrorLine('W: x\nE: Unable to locate package foo\n')).toBe('E: Unable to locate package foo');
    expect(aptErrorLine('', 'last line\n')).toBe('last line');
    // dpkg's own reason comes first: apt only says "error code (2)"
    expect(
      aptErrorLine(
        "dpkg: error processing archive /var/cache/apt/archives/x.deb (--unpack):\n cannot copy extracted data for './usr/bin/x' to '/usr/bin/x.dpkg-new': failed to write (No space left on device)\nE: Sub-process /usr/bin/dpkg returned an error code (2)\n",
      ),
    ).toBe(
      "cannot copy extracted data for './usr/bin/x' to '/usr/bin/x.dpkg-new': failed to write (No space left on device) E: Sub-process /usr/bin/dpkg returned an error code (2)",
    );
  });

  it('finds index fetch failures that apt-get update reports with exit 0', () => {
    const out = [
      'Err:1 http://127.0.0.1:9/debian bookworm InRelease',
      '  Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)',
      'W: Failed to fetch http://127.0.0.1:9/debian/dists/bookworm/InRelease  Could not connect to 127.0.0.1:9',
      'W: Some index files failed to download. They have been ignored, or old ones used instead.',
    ].join('\n');
    expect(updateFailure(out)).toMatch(/^W: Failed to fetch/);
    expect(updateFailure('Hit:1 http://x bookworm InRelease\nReading package lists...')).toBeUndefined();
    expect(
      updateFailure("E: The repository 'http://x buster Release' does not have a Release file."),
    ).toMatch(/Release file/);
  });
});
