import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { UpdatePackage } from '../report/types.js';
import { chooseFixedVersion, selectLibraryUpdates, splitGoStdlib, type LibraryPatchLevel } from './select.js';

interface Row {
  key: string;
  installed: string;
  entries: string[];
  level: LibraryPatchLevel;
  copa: string;
}

/** Copa v0.14.2's own answers (testdata/copa-library-patch-level.tsv: `#` comments, one header line). */
function readVectors(): Row[] {
  const text = readFileSync(new URL('./testdata/copa-library-patch-level.tsv', import.meta.url), 'utf8');
  const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  return lines.slice(1).map((line) => {
    const [installed = '', fixed = '', level = '', chosen = ''] = line.split('\t');
    if (!['patch', 'minor', 'major'].includes(level)) throw new Error(`bad level in vector: ${line}`);
    const key = `${installed} [${fixed}] ${level}`;
    const entries = fixed.split('|');
    return { key, installed, entries, level: level as LibraryPatchLevel, copa: chosen === '-' ? '' : chosen };
  });
}

/** Rows where we deliberately choose differently from Copa (README "Choosing the library version"). None. */
const DIFFERENCES: Record<string, { ours: string; why: string }> = {};

describe('chooseFixedVersion against Copa v0.14.2', () => {
  const rows = readVectors();

  it('reads all 600 vectors, each input once, and every difference names a real row', () => {
    expect(rows).toHaveLength(600);
    expect(new Set(rows.map((r) => r.key)).size).toBe(rows.length);
    for (const key of Object.keys(DIFFERENCES)) expect(rows.map((r) => r.key)).toContain(key);
  });

  it.each(rows)('$key -> $copa', ({ key, installed, entries, level, copa }) => {
    const expected = DIFFERENCES[key]?.ours ?? copa;
    expect(chooseFixedVersion(installed, entries, level)).toBe(expected);
  });
});

describe('chooseFixedVersion edge cases (Copa quirks kept on purpose)', () => {
  it.each<[string, string[], LibraryPatchLevel, string, string]>([
    ['no entries', [], 'major', '1.0.0', ''],
    ['blank entries only', [' ', ', ,'], 'major', '1.0.0', ''],
    ['unknown level behaves as patch', ['1.0.1', '1.1.0'], 'bogus' as LibraryPatchLevel, '1.0.0', '1.0.1'],
    ['first of equal versions wins', ['v1.0.2', '1.0.2'], 'patch', '1.0.0', 'v1.0.2'],
    ['two-part version is x.y.0', ['1.1'], 'minor', '1.0.5', '1.1'],
    [
      'patch cut at "-": a pre-release equals its release',
      ['1.0.1-rc1', '1.0.1'],
      'patch',
      '1.0.0',
      '1.0.1-rc1',
    ],
    ['parse failure falls back to string order', ['1.0.9rc1', '1.0.10'], 'patch', '1.0.0', '1.0.9rc1'],
    ['4th part ignored', ['1.0.0.1'], 'patch', '1.0.0', ''],
    ['major without comma: highest overall', ['1.0.1', '2.0.0'], 'major', '1.0.0', '2.0.0'],
    ['major with a comma list: patch first', ['1.0.1, 2.0.0'], 'major', '1.0.0', '1.0.1'],
    ['minor never jumps a major', ['2.0.0'], 'minor', '1.0.0', ''],
  ])('%s', (_name, entries, level, installed, expected) => {
    expect(chooseFixedVersion(installed, entries, level)).toBe(expected);
  });
});

const lib = (p: Partial<UpdatePackage> & Pick<UpdatePackage, 'name' | 'fixedVersion'>): UpdatePackage => ({
  installedVersion: '1.0.0',
  vulnerabilityID: 'CVE-1',
  type: 'python-pkg',
  class: 'lang-pkgs',
  ...p,
});

describe('selectLibraryUpdates', () => {
  it('groups by name and path: the same library at two paths is two targets', () => {
    const { updates } = selectLibraryUpdates(
      [
        lib({ name: 'urllib3', fixedVersion: '1.0.1', pkgPath: '/venv/a' }),
        lib({ name: 'urllib3', fixedVersion: '1.0.3', pkgPath: '/usr/lib', installedVersion: '1.0.2' }),
        lib({ name: 'urllib3', fixedVersion: '1.0.2', pkgPath: '/venv/a', vulnerabilityID: 'CVE-2' }),
      ],
      'patch',
    );
    expect(updates.map((u) => [u.pkgPath, u.installedVersion, u.fixedVersion, u.vulnerabilityID])).toEqual([
      ['/usr/lib', '1.0.2', '1.0.3', 'CVE-1'],
      ['/venv/a', '1.0.0', '1.0.2', 'CVE-1'],
      ['/venv/a', '1.0.0', '1.0.2', 'CVE-2'],
    ]);
  });

  it('emits the chosen version once per distinct vulnerability ID, sorted by name then ID', () => {
    const { updates } = selectLibraryUpdates(
      [
        lib({ name: 'zlib-ng', fixedVersion: '1.0.1', vulnerabilityID: 'GHSA-b' }),
        lib({ name: 'aiohttp', fixedVersion: '1.0.4, 2.0.1', vulnerabilityID: 'CVE-9' }),
        lib({ name: 'aiohttp', fixedVersion: '1.0.2', vulnerabilityID: 'CVE-10' }),
        lib({ name: 'aiohttp', fixedVersion: '1.0.3', vulnerabilityID: 'CVE-9' }),
        lib({ name: 'Zope', fixedVersion: '1.0.1', vulnerabilityID: 'CVE-3' }),
      ],
      'patch',
    );
    expect(updates.map((u) => `${u.name} ${u.vulnerabilityID} ${u.fixedVersion}`)).toEqual([
      'Zope CVE-3 1.0.1',
      'aiohttp CVE-10 1.0.4',
      'aiohttp CVE-9 1.0.4',
      'zlib-ng GHSA-b 1.0.1',
    ]);
    expect(updates[0]).toEqual({
      name: 'Zope',
      installedVersion: '1.0.0',
      fixedVersion: '1.0.1',
      vulnerabilityID: 'CVE-3',
      type: 'python-pkg',
      class: 'lang-pkgs',
    });
  });

  it('keeps names exact (no PEP 503 normalisation) and an entry without ID still yields an update', () => {
    const { updates } = selectLibraryUpdates(
      [
        lib({ name: 'PyYAML', fixedVersion: '1.0.1' }),
        lib({ name: 'pyyaml', fixedVersion: '1.0.2', vulnerabilityID: '' }),
      ],
      'patch',
    );
    expect(updates.map((u) => [u.name, u.fixedVersion, u.vulnerabilityID])).toEqual([
      ['PyYAML', '1.0.1', 'CVE-1'],
      ['pyyaml', '1.0.2', ''],
    ]);
  });

  it('passes report entries to the choice unsplit, so --library-patch-level major prefers a comma list’s patch fix', () => {
    const entries = [
      lib({ name: 'requests', fixedVersion: '1.0.7, 3.0.2' }),
      lib({ name: 'requests', fixedVersion: '2.1.0' }),
    ];
    expect(selectLibraryUpdates(entries, 'major').updates[0]?.fixedVersion).toBe('1.0.7');
    expect(selectLibraryUpdates(entries.slice(1), 'major').updates[0]?.fixedVersion).toBe('2.1.0');
  });

  it('always chooses certifi at major level', () => {
    const entries = [lib({ name: 'certifi', installedVersion: '2022.12.7', fixedVersion: '2024.7.4' })];
    expect(selectLibraryUpdates(entries, 'patch').updates[0]?.fixedVersion).toBe('2024.7.4');
  });

  it('reports groups without an acceptable version as skipped, with the level that would work', () => {
    const sel = selectLibraryUpdates(
      [
        lib({ name: 'b', fixedVersion: '3.0.2', pkgPath: '/p' }),
        lib({ name: 'b', fixedVersion: '1.2.0', pkgPath: '/p', vulnerabilityID: 'CVE-2' }),
        lib({ name: 'a', fixedVersion: '0.9.0, 1.0.0', type: 'node-pkg' }),
        lib({ name: 'c', fixedVersion: '' }),
      ],
      'patch',
    );
    expect(sel.updates).toEqual([]);
    expect(sel.skipped).toEqual([
      {
        name: 'a',
        pkgPath: '',
        type: 'node-pkg',
        reason: 'no fixed version above installed 1.0.0 (fixes: 0.9.0, 1.0.0)',
      },
      {
        name: 'b',
        pkgPath: '/p',
        type: 'python-pkg',
        reason: 'no fix at patch level (fixes: 3.0.2, 1.2.0; try --library-patch-level minor)',
      },
    ]);
    expect(
      selectLibraryUpdates([lib({ name: 'x', fixedVersion: '2.0.0' })], 'minor').skipped[0]?.reason,
    ).toBe('no fix at minor level (fixes: 2.0.0; try --library-patch-level major)');
  });

  it('skips .NET SDK/build and runtime-pack packages once per name and path, other .NET packages pass', () => {
    const net = (name: string, vulnerabilityID = 'CVE-1'): UpdatePackage =>
      lib({ name, fixedVersion: '1.0.1', type: 'dotnet-core', pkgPath: '/app/a.deps.json', vulnerabilityID });
    const sel = selectLibraryUpdates(
      [
        net('Microsoft.Build.Tasks.Core'),
        net('Microsoft.Build.Tasks.Core', 'CVE-2'),
        net('Microsoft.NETCore.App.Runtime.linux-x64'),
        net('Microsoft.AspNetCore.App.Ref'),
        net('Microsoft.NETCore.App.Host.linux-musl-x64'),
        net('System.Text.Json'),
        lib({ name: 'Microsoft.Build.Tasks.Core', fixedVersion: '1.0.1', type: 'node-pkg' }),
      ],
      'patch',
    );
    expect(sel.skipped.map((s) => s.name)).toEqual([
      'Microsoft.AspNetCore.App.Ref',
      'Microsoft.Build.Tasks.Core',
      'Microsoft.NETCore.App.Host.linux-musl-x64',
      'Microsoft.NETCore.App.Runtime.linux-x64',
    ]);
    expect(sel.updates.map((u) => `${u.type} ${u.name}`)).toEqual([
      'node-pkg Microsoft.Build.Tasks.Core',
      'dotnet-core System.Text.Json',
    ]);
  });
});

describe('splitGoStdlib', () => {
  it('separates Go stdlib entries, keeping order, and leaves a non-Go "stdlib" alone', () => {
    const a = lib({ name: 'stdlib', type: 'gobinary', fixedVersion: '1.24.6', pkgPath: '/usr/bin/app' });
    const b = lib({ name: 'golang.org/x/net', type: 'gobinary', fixedVersion: '0.38.0' });
    const c = lib({ name: 'stdlib', type: 'gomod', fixedVersion: '1.23.8, 1.24.2' });
    const d = lib({ name: 'stdlib', type: 'python-pkg', fixedVersion: '1.0.1' });
    expect(splitGoStdlib([a, b, c, d])).toEqual({ stdlib: [a, c], rest: [b, d] });
    expect(splitGoStdlib([])).toEqual({ stdlib: [], rest: [] });
  });
});
