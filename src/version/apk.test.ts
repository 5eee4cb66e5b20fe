import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { apkVersion, compareApkVersions, isValidApkVersion } from './apk.js';

// The table: apk-tools' own test vectors plus pairs written from its rules (testdata/apk-version-pairs.txt says
// which is which). No apk binary is reachable on this machine, so the table is the reference.

interface Row {
  a: string;
  b: string;
  expected: number;
  line: number;
}

function table(): Row[] {
  const text = readFileSync(new URL('./testdata/apk-version-pairs.txt', import.meta.url), 'utf8');
  const rows: Row[] = [];
  text.split('\n').forEach((raw, k) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(\S+) ([<=>]) (\S+)$/.exec(line);
    if (!m?.[1] || !m[2] || !m[3]) throw new Error(`bad table line ${k + 1}: ${raw}`);
    rows.push({ a: m[1], b: m[3], expected: m[2] === '<' ? -1 : m[2] === '>' ? 1 : 0, line: k + 1 });
  });
  return rows;
}

describe('apkVersion.compare (apk-tools rules)', () => {
  const rows = table();

  it('has at least 150 pairs covering every outcome', () => {
    expect(rows.length).toBeGreaterThanOrEqual(150);
    expect(new Set(rows.map((r) => r.expected))).toEqual(new Set([-1, 0, 1]));
  });

  it('agrees with every pair of the table, both ways round', () => {
    const wrong = rows
      .map((r) => ({ ...r, ours: compareApkVersions(r.a, r.b), reverse: compareApkVersions(r.b, r.a) }))
      .filter((r) => r.ours !== r.expected || r.reverse !== -r.expected + 0);
    expect(wrong).toEqual([]);
  });

  it('orders the suffixes around a release', () => {
    const ordered = [
      '1.0_alpha',
      '1.0_beta',
      '1.0_pre',
      '1.0_rc',
      '1.0',
      '1.0_cvs',
      '1.0_svn',
      '1.0_git',
      '1.0_hg',
      '1.0_p',
      '1.0a',
      '1.0.1',
    ];
    const shuffled = [...ordered].reverse();
    expect(shuffled.sort((a, b) => apkVersion.compare(a, b))).toEqual(ordered);
  });
});

describe('apkVersion.isValid (apk-tools rules)', () => {
  it('accepts Alpine versions', () => {
    const good = [
      '1.36.1-r5',
      '3.0.15-r0',
      '2.12.10-r0',
      '1.2.3b_rc1_p2-r4',
      '0.1.0_alpha_pre2',
      '1.0~abc123-r1',
      '20240101',
      '006',
      '1.0_git20240101',
    ];
    for (const v of good) expect(isValidApkVersion(v), v).toBe(true);
  });

  it('rejects what apk rejects', () => {
    const bad = [
      '',
      'a1',
      '1.0bc',
      '1.0_foo',
      '1.0-1',
      '1.0-r',
      '1.0.',
      '1..0',
      '1.0a.1',
      '1.0~',
      '1.0~xyz',
      '1.0-r1-r2',
      '1.0 ',
      'v1.0',
      '1.0_rc1_',
      '1.0A',
      '1.0-r1_p1',
    ];
    for (const v of bad) expect(isValidApkVersion(v), v).toBe(false);
  });
});
