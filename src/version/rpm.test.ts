import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { rpmOrder } from '../../test/helpers/real-versions.js';
import { parseNevra, parseRpmEvr, rpmvercmp, rpmVersion } from './rpm.js';

// Every ordering below is checked against the real rpm of this machine (Debian's `rpm` package): its Lua
// `rpm.vercmp(a, b)` parses both strings as [epoch:]version[-release] and compares them like rpm does.

type Pair = [string, string];

/** A small seeded PRNG (xorshift32) so the generated pairs are the same on every run. */
function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

function choose<T>(rnd: () => number, items: readonly T[]): T {
  const item = items[Math.floor(rnd() * items.length)];
  if (item === undefined) throw new Error('empty choice');
  return item;
}

const NUMBERS = [
  '0',
  '1',
  '2',
  '3',
  '9',
  '10',
  '01',
  '007',
  '11',
  '100',
  '2023',
  '20240101',
  '99999999999999999999999',
];
const LETTERS = ['a', 'b', 'rc', 'beta', 'el', 'el9', 'git', 'Z', 'z', 'cm', 'amzn', 'fc', 'post'];
const SEPARATORS = ['.', '.', '.', '_', '+', '.', '..'];

function segment(rnd: () => number): string {
  const r = rnd();
  if (r < 0.55) return choose(rnd, SEPARATORS) + choose(rnd, NUMBERS);
  if (r < 0.7)
    return choose(rnd, ['', '.']) + choose(rnd, LETTERS) + (rnd() < 0.6 ? choose(rnd, NUMBERS) : '');
  if (r < 0.8) return '~' + choose(rnd, ['', ...LETTERS]) + choose(rnd, NUMBERS);
  if (r < 0.88) return '^' + choose(rnd, ['', 'git', '20240101git']) + choose(rnd, NUMBERS);
  return choose(rnd, ['~', '^', '~~', '.', '+']);
}

function versionPart(rnd: () => number): string {
  let v = choose(rnd, NUMBERS);
  const n = Math.floor(rnd() * 4);
  for (let k = 0; k < n; k++) v += segment(rnd);
  return v;
}

function randomEvr(rnd: () => number): string {
  const epoch = choose(rnd, ['', '', '', '', '0:', '1:', '2:', '10:', '01:']);
  const release =
    rnd() < 0.6 ? '-' + versionPart(rnd) + choose(rnd, ['', '', '.el9', '.el8_6', '.cm2', '.amzn2.0.1']) : '';
  return epoch + versionPart(rnd) + release;
}

/** A version close to `v`: the interesting comparisons are between near-equal strings. */
function nearby(rnd: () => number, v: string): string {
  const edits: (() => string)[] = [
    () => v + choose(rnd, ['~', '~rc1', '^', '^git1', '.0', '0', 'a', '.1', '~~', '-1', '.el9']),
    () => (v.includes(':') ? v.slice(v.indexOf(':') + 1) : choose(rnd, ['0:', '1:', '00:']) + v),
    () => v.replace(/\d+/, (d) => '0' + d),
    () => v.replace(/\d+(?!.*\d)/, (d) => String(BigInt(d) + 1n)),
    () => v.slice(0, -1) || '0',
    () => (v.includes('-') ? v.slice(0, v.lastIndexOf('-')) : v + '-1'),
    () => v.replace('~', '^'),
    () => v.replace('.', '_'),
    () => v.replace(/[a-z]/, (c) => c.toUpperCase()),
  ];
  return choose(rnd, edits)();
}

function expectSameAsRpm(pairs: Pair[]): void {
  const expected = rpmOrder(pairs);
  const mismatches = pairs
    .map(([a, b], k) => ({ a, b, rpm: expected[k], ours: rpmVersion.compare(a, b) }))
    .filter((r) => r.rpm !== r.ours);
  expect(mismatches).toEqual([]);
  for (const [a, b] of pairs) expect(rpmVersion.compare(b, a)).toBe(0 - rpmVersion.compare(a, b) || 0);
}

const HANDPICKED: Pair[] = [
  ['1.0~rc1', '1.0'],
  ['1.0~rc1', '1.0~rc2'],
  ['1.0~~', '1.0~'],
  ['1.0^', '1.0'],
  ['1.0^git1', '1.0'],
  ['1.0^git1', '1.0.1'],
  ['1.0^git1', '1.0^git2'],
  ['1.0~rc1^git1', '1.0~rc1'],
  ['1.0^git1~pre', '1.0^git1'],
  ['1.0', '1.0.0'],
  ['1.0a', '1.0'],
  ['1.0a', '1.0.1'],
  ['1.0', '1_0'],
  ['1..0', '1.0'],
  ['1.01', '1.1'],
  ['1.001', '1.1'],
  ['2.10', '2.9'],
  ['a', '1'],
  ['A', 'a'],
  ['1.0-1', '1.0'],
  ['1.0-', '1.0'],
  ['1.0-1', '1.0-1.el9'],
  ['1:1.0', '2.0'],
  ['0:1.0', '1.0'],
  [':1.0', '1.0'],
  ['01:1.0', '1:1.0'],
  ['1:3.0.7-24.el9', '1:3.0.7-25.el9_3'],
  ['3.0.7-27.el9', '1:3.0.7-25.el9_3'],
  ['2.1.1k-21.cm2', '2.1.1k-22.cm2'],
  ['1.0.2k-24.amzn2.0.6', '1.0.2k-19.amzn2.0.6'],
  ['5.2.15-2.el9', '5.2.15-2.el9_1'],
  ['99999999999999999999999', '99999999999999999999998'],
  ['1-2:3', '1-2:4'],
];

/**
 * The comparison against the real rpm needs the `rpm` tool (`apt-get install rpm`, which .ci/run does).
 * Without it the block is skipped and says why in its name; with COPA_REQUIRE_TOOLS=1 (set by .ci/run)
 * a missing rpm fails instead, so CI never passes without this comparison.
 */
const HAVE_RPM = spawnSync('rpm', ['--version']).status === 0;
if (!HAVE_RPM && process.env.COPA_REQUIRE_TOOLS === '1') {
  throw new Error('rpm is not installed, and COPA_REQUIRE_TOOLS=1: apt-get install rpm');
}

describe.skipIf(!HAVE_RPM)(
  `rpmVersion.compare against the real rpm (rpm.vercmp)${HAVE_RPM ? '' : ' — SKIPPED: rpm is not installed (apt-get install rpm)'}`,
  () => {
    it('agrees on hand-picked pairs (tilde, caret, epochs, releases, separators, leading zeros)', () => {
      expectSameAsRpm(HANDPICKED);
    });

    it('agrees on 400 pairs generated from a seeded PRNG', () => {
      const rnd = seeded(0xc0ba);
      const pairs: Pair[] = [];
      while (pairs.length < 400) {
        const a = randomEvr(rnd);
        pairs.push([a, rnd() < 0.3 ? randomEvr(rnd) : nearby(rnd, a)]);
      }
      const outcomes = new Set(pairs.map(([a, b]) => rpmVersion.compare(a, b)));
      expect([...outcomes].sort()).toEqual([-1, 0, 1]);
      const all = pairs.flat().join(' ');
      for (const feature of ['~', '^', '1:', '-', '007', '99999999999999999999999', '_'])
        expect(all).toContain(feature);
      expectSameAsRpm(pairs);
    });
  },
);

describe('rpmvercmp and parsing', () => {
  it('compares bare segments', () => {
    expect(rpmvercmp('1.0', '1.0')).toBe(0);
    expect(rpmvercmp('1.0', '1_0')).toBe(0);
    expect(rpmvercmp('1.0~rc1', '1.0')).toBe(-1);
    expect(rpmvercmp('1.0^1', '1.0')).toBe(1);
  });

  it('splits epoch, version and release like rpm', () => {
    expect(parseRpmEvr('1:3.0.7-25.el9_3')).toEqual({ epoch: '1', version: '3.0.7', release: '25.el9_3' });
    expect(parseRpmEvr('3.0.7')).toEqual({ epoch: undefined, version: '3.0.7', release: undefined });
    expect(parseRpmEvr(':1.0-1')).toEqual({ epoch: '0', version: '1.0', release: '1' });
    expect(parseRpmEvr('1.0-1-2')).toEqual({ epoch: undefined, version: '1.0-1', release: '2' });
  });

  it('splits NEVRA strings of dnf and microdnf', () => {
    expect(parseNevra('openssl-libs-1:3.0.7-25.el9_3.x86_64')).toEqual({
      name: 'openssl-libs',
      evr: '1:3.0.7-25.el9_3',
      arch: 'x86_64',
    });
    expect(parseNevra('copa-hello-2.0-1.noarch')).toEqual({
      name: 'copa-hello',
      evr: '2.0-1',
      arch: 'noarch',
    });
    expect(parseNevra('nodots')).toBeUndefined();
  });
});

describe('rpmVersion.isValid', () => {
  it('accepts real RPM versions', () => {
    for (const v of [
      '3.0.7-25.el9_3',
      '1:3.0.7-25.el9_3',
      '2.1.1k-21.cm2',
      '1.0^git20240101',
      '1.0~rc1-1',
      '7.76.1',
      '0:1-1',
    ]) {
      expect(rpmVersion.isValid(v), v).toBe(true);
    }
  });

  it('rejects what is not an RPM version', () => {
    for (const v of ['', 'latest', 'a1.0', '1.0 -1', '1:2:3', 'x:1.0', '1.0-', '1.0-1-2', '1.0/1', '-1']) {
      expect(rpmVersion.isValid(v), v).toBe(false);
    }
  });
});
