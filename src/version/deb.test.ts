import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dpkgOrder } from '../../test/helpers/real-versions.js';
import { CopaError } from '../errors.js';
import { compareDebFragment, debVersion, parseDebVersion } from './deb.js';

// Every ordering below is checked against the real `dpkg --compare-versions` of this machine.

type Pair = [string, string];

/** mulberry32: a tiny seeded PRNG so the generated pairs are the same on every run. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rnd: () => number, items: readonly T[]): T {
  const item = items[Math.floor(rnd() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

const EPOCHS = ['', '', '', '', '0:', '1:', '2:', '10:', '01:'];
const NUMS = ['0', '1', '2', '3', '9', '10', '01', '007', '100', '2024', '20230101', '99999999999999999999'];
const LONG = ['18446744073709551616', '123456789012345678901234567890', '000000000000000000001'];
const WORDS = ['a', 'b', 'rc', 'alpha', 'beta', 'dfsg', 'ds', 'git', 'Z', 'z', 'ubuntu', 'bpo', 'really'];

function num(rnd: () => number): string {
  return rnd() < 0.06 ? pick(rnd, LONG) : pick(rnd, NUMS);
}

function upstream(rnd: () => number, withHyphen: boolean, withColon: boolean): string {
  let v = num(rnd);
  const parts = Math.floor(rnd() * 5);
  for (let k = 0; k < parts; k++) {
    const shape = Math.floor(rnd() * 8);
    if (shape <= 2) v += '.' + num(rnd);
    else if (shape === 3) v += pick(rnd, WORDS) + (rnd() < 0.5 ? num(rnd) : '');
    else if (shape === 4) v += pick(rnd, ['~', '~~', '~']) + pick(rnd, [...WORDS, '']) + num(rnd);
    else if (shape === 5) v += '+' + pick(rnd, [...WORDS, 'dfsg', 'ds']) + num(rnd);
    else if (shape === 6) v += pick(rnd, ['~', '~~', '+', '.']);
    else v += '.' + pick(rnd, WORDS);
  }
  if (withHyphen && rnd() < 0.15) v += '-' + num(rnd);
  if (withColon && rnd() < 0.1) v += ':' + num(rnd);
  return v;
}

function revision(rnd: () => number): string {
  if (rnd() < 0.3) return '';
  const n = (): string => num(rnd);
  return (
    '-' +
    pick(rnd, [
      () => n(),
      () => `${n()}+deb12u${n()}`,
      () => `${n()}+deb11u${n()}~bpo`,
      () => `${n()}+b${n()}`,
      () => `${n()}ubuntu${n()}.${n()}`,
      () => `${n()}.${n()}`,
      () => `${n()}~${pick(rnd, WORDS)}${n()}`,
      () => `${n()}.${n()}+${pick(rnd, WORDS)}`,
    ])()
  );
}

function randomVersion(rnd: () => number): string {
  const epoch = pick(rnd, EPOCHS);
  const rev = revision(rnd);
  return epoch + upstream(rnd, rev !== '', epoch !== '') + rev;
}

/** A version close to `v`: the interesting comparisons are between near-equal strings. */
function mutate(rnd: () => number, v: string): string {
  const ops: (() => string)[] = [
    () => v + pick(rnd, ['~', '~~', '~rc1', '+b1', '.0', '0', 'a', '+deb12u1', '.1', '~~a']),
    () => (v.includes(':') ? v.slice(v.indexOf(':') + 1) : '0:' + v),
    () => (v.includes(':') ? v : pick(rnd, ['1:', '00:']) + v),
    () => v.replace(/\d+/, (d) => '0' + d),
    () => v.replace(/\d+(?!.*\d)/, (d) => String(BigInt(d) + 1n)),
    () => v.replace(/\d+/, (d) => (d === '0' ? '0' : String(BigInt(d) - 1n))),
    () => v.slice(0, -1),
    () => (/-[^-]*$/.test(v) ? v.replace(/-[^-]*$/, '') : v + pick(rnd, ['-0', '-1', '-0~1'])),
    () => v.replace('~', '+'),
    () => v.replace('.', '~'),
    () => v.replace(/[a-z]/, (c) => c.toUpperCase()),
  ];
  return pick(rnd, ops)();
}

/** Versions dpkg accepts without error (the generators may produce a few it refuses; drop them). */
function comparable(v: string): boolean {
  return parseDebVersion(v).ok;
}

/** the real dpkg's answers; a pair dpkg refuses is a mistake in the table */
function dpkgOrderStrict(pairs: Pair[]): number[] {
  return dpkgOrder(pairs).map((n, k) => {
    if (Number.isNaN(n)) throw new Error(`dpkg refused the pair ${JSON.stringify(pairs[k])}`);
    return n;
  });
}

function expectSameAsDpkg(pairs: Pair[]): void {
  const expected = dpkgOrderStrict(pairs);
  const mismatches = pairs
    .map(([a, b], k) => ({ a, b, dpkg: expected[k], ours: debVersion.compare(a, b) }))
    .filter((r) => r.dpkg !== r.ours);
  expect(mismatches).toEqual([]);
  for (const [a, b] of pairs) expect(debVersion.compare(b, a)).toBe(0 - debVersion.compare(a, b) || 0);
}

const HANDPICKED: Pair[] = [
  ['1.0~rc1', '1.0'],
  ['1.0~~', '1.0~'],
  ['1.0~~a', '1.0~~'],
  ['1.0~', '1.0'],
  ['1.0', '1.0+b1'],
  ['1.0', '1.00'],
  ['0:1.0', '1.0'],
  ['1:0.1', '2.0'],
  ['1.0-1', '1.0-1+deb12u1'],
  ['1.0-1+deb12u1', '1.0-1+deb12u2'],
  ['1.0-1+deb12u10', '1.0-1+deb12u9'],
  ['1.0-1', '1.0-1+b1'],
  ['1.0-1~bpo12+1', '1.0-1'],
  ['1.0a', '1.0'],
  ['1.0a', '1.0+'],
  ['1.0a', '1.0.'],
  ['1.0.', '1.0+'],
  ['1.0a', '1.0A'],
  ['1.0Z', '1.0a'],
  ['1.01', '1.1'],
  ['1.001', '1.1'],
  ['1.2', '1.10'],
  ['9', '10'],
  ['18446744073709551616', '18446744073709551615'],
  ['1.123456789012345678901234567890', '1.123456789012345678901234567891'],
  ['1.0-1', '1.0-01'],
  ['1.0-1.1', '1.0-1+1'],
  ['1.0-1-1', '1.0-1'],
  ['1:1.0-1:2', '1:1.0-1'],
  ['2.36-9+deb12u4', '2.36-9+deb12u10'],
  ['7.88.1-10+deb12u5', '7.88.1-10+deb12u12'],
  ['3.0.11-1~deb12u2', '3.0.15-1~deb12u1'],
  ['1:2.38.1-5+deb12u3', '2.38.1-5+deb12u3'],
  ['252.30-1~deb12u2', '252.33-1~deb12u1'],
  ['1.2.13.dfsg-1', '1:1.2.13.dfsg-1'],
  ['4.19.0-21ubuntu0.22.04.1', '4.19.0-21ubuntu0.22.04.10'],
  // dpkg warns about these (upstream not starting with a digit) but still compares them.
  ['a1', 'b1'],
  ['a', '1'],
  ['~1', '1'],
  ['1.0', '1.0'],
  ['0', '00'],
];

describe('debVersion.compare against dpkg --compare-versions', () => {
  it('agrees on hand-picked pairs (tildes, epochs, +debNuN, +bN, letters, leading zeros)', () => {
    expectSameAsDpkg(HANDPICKED);
  });

  it('agrees on 700 pairs generated from a seeded PRNG', () => {
    const rnd = prng(0x5eed);
    const pairs: Pair[] = [];
    while (pairs.length < 700) {
      const a = randomVersion(rnd);
      const b = rnd() < 0.35 ? randomVersion(rnd) : mutate(rnd, a);
      if (comparable(a) && comparable(b)) pairs.push([a, b]);
    }
    // Enough variety: all three outcomes and the features the generator is meant to cover.
    const outcomes = new Set(pairs.map(([a, b]) => debVersion.compare(a, b)));
    expect([...outcomes].sort()).toEqual([-1, 0, 1]);
    const all = pairs.flat().join(' ');
    for (const feature of ['~~', '+deb12u', '+b', '0:', '007', '123456789012345678901234567890']) {
      expect(all).toContain(feature);
    }
    expectSameAsDpkg(pairs);
  });

  it("agrees on real versions from this host's dpkg database", () => {
    const status = readFileSync('/var/lib/dpkg/status', 'utf8');
    const versions = [...new Set([...status.matchAll(/^Version: (.+)$/gm)].map((m) => m[1] ?? ''))]
      .filter(comparable)
      .sort();
    expect(versions.length).toBeGreaterThan(20);
    const rnd = prng(42);
    const sample = versions.filter(() => rnd() < Math.min(1, 120 / versions.length));
    const pairs: Pair[] = [];
    for (let k = 0; k + 1 < sample.length; k++) {
      const a = sample[k] ?? '';
      pairs.push([a, sample[k + 1] ?? '']); // neighbours in string order: similar strings
      pairs.push([a, pick(rnd, versions)]);
      const m = mutate(rnd, a);
      if (comparable(m)) pairs.push([a, m]);
    }
    expect(pairs.length).toBeGreaterThan(50);
    expectSameAsDpkg(pairs);
  });
});

describe('debVersion.isValid', () => {
  const VALID = [
    '1',
    '0',
    '1.0',
    '1:1.0',
    '0:1.0',
    '10:1.0-1',
    '1.0-1',
    '1.0~rc1-1',
    '1.0-1+deb12u1',
    '2.36-9+deb12u4',
    '1.2.3-4-5',
    '1:1.0:2-1',
    '1.0+dfsg~1-0.1',
    '1.0-A.b+c~d',
    '007',
    '1.0 ', // dpkg ignores surrounding blanks
    '\t1.0',
  ];
  const INVALID = [
    'a1', // upstream must start with a digit (dpkg: warning only)
    '~1',
    '1.0_1', // character outside the allowed set (dpkg: warning only)
    '1.0-1_1',
    '1:1.0-1:2', // colon not allowed in the revision
    '1.0é',
    'x:1.0', // non-numeric epoch
    '-1:1.0',
    ':1.0', // empty epoch
    '1:', // nothing after the colon
    '1.0-', // empty revision
    '-1', // empty upstream
    '1:-1',
    '1.0 1', // embedded space
    '99999999999:1.0', // epoch too big for dpkg
  ];

  it('accepts well-formed versions', () => {
    for (const v of VALID) expect(debVersion.isValid(v), v).toBe(true);
  });

  it('rejects malformed versions and the empty string', () => {
    for (const v of INVALID) expect(debVersion.isValid(v), v).toBe(false);
    expect(debVersion.isValid('')).toBe(false);
    expect(debVersion.isValid('   ')).toBe(false);
  });

  it('matches dpkg: valid = dpkg accepts silently; invalid = dpkg warns or refuses', () => {
    const script = [
      'while IFS= read -r v; do',
      '  err=$(dpkg --compare-versions "$v" eq "$v" 2>&1 >/dev/null); rc=$?',
      '  if [ $rc = 0 ] && [ -z "$err" ]; then echo ok; else echo bad; fi',
      'done',
    ].join('\n');
    const cases = [...VALID, ...INVALID];
    const input = cases.map((v) => v + '\n').join('');
    const out = execFileSync('sh', ['-c', script], { input, encoding: 'utf8' }).trim().split('\n');
    expect(out.map((r, k) => [cases[k], r === 'ok'])).toEqual(cases.map((v) => [v, debVersion.isValid(v)]));
  });

  it('compare throws a CopaError only for strings dpkg refuses', () => {
    expect(() => debVersion.compare('1:', '1.0')).toThrow(CopaError);
    expect(() => debVersion.compare('1.0', '')).toThrow(/invalid Debian version "": version string is empty/);
    expect(debVersion.compare('a1', '1')).toBe(1);
  });
});

describe('parseDebVersion and compareDebFragment', () => {
  it('splits epoch, upstream and revision', () => {
    expect(parseDebVersion('2:1.0-2-3')).toEqual({
      ok: true,
      version: { epoch: 2, upstream: '1.0-2', revision: '3' },
    });
    expect(parseDebVersion('1.0')).toEqual({
      ok: true,
      version: { epoch: 0, upstream: '1.0', revision: '' },
    });
  });

  it('orders ~ before the end, the end before letters, letters before other characters', () => {
    const sorted = ['1~~', '1~~a', '1~', '1', '1A', '1Z', '1a', '1z', '1+', '1.'];
    const shuffled = [...sorted].reverse();
    expect(shuffled.sort(compareDebFragment)).toEqual(sorted);
  });
});
