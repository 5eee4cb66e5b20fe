/**
 * Arch Linux (pacman/libalpm) package versions: `[epoch:]pkgver[-pkgrel]`, written from alpm's documented
 * rules (vercmp(8)) and checked against pacman's own vercmp test vectors in pacman.test.ts.
 *
 * Epochs are compared first (missing = 0), then pkgver, then pkgrel when both sides have one. Each part is
 * compared segment by segment like rpm's classic algorithm, with alpm's differences: no special `~`/`^`;
 * when the separator runs before two segments differ in length, the longer run wins (`2___a > 2_a`,
 * `2.0a < 2.0.a`); at the end, a left-over letter segment loses and a left-over number wins
 * (`1.0rc < 1.0 < 1.0.1`).
 */
import type { VersionScheme } from './types.js';

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function isAlpha(c: string | undefined): boolean {
  return c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

function isAlnum(c: string | undefined): boolean {
  return isDigit(c) || isAlpha(c);
}

/** alpm's segment comparison of one part (pkgver or pkgrel or epoch): -1, 0 or 1. */
export function alpmSegmentCompare(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  // end of the previous segment, to measure the separator runs
  let pi = 0;
  let pj = 0;
  while (i < a.length && j < b.length) {
    while (i < a.length && !isAlnum(a[i])) i++;
    while (j < b.length && !isAlnum(b[j])) j++;
    if (i >= a.length || j >= b.length) break;
    if (i - pi !== j - pj) return i - pi < j - pj ? -1 : 1;
    const numeric = isDigit(a[i]);
    const same = numeric ? isDigit : isAlpha;
    let ei = i;
    let ej = j;
    while (ei < a.length && same(a[ei])) ei++;
    while (ej < b.length && same(b[ej])) ej++;
    if (ej === j) return numeric ? 1 : -1;
    let sa = a.slice(i, ei);
    let sb = b.slice(j, ej);
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = pi = ei;
    j = pj = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  // a left-over letter segment is older than nothing; anything else left over is newer
  if ((i >= a.length && !isAlpha(b[j])) || isAlpha(a[i])) return -1;
  return 1;
}

export interface AlpmEvr {
  epoch: string;
  version: string;
  release: string | undefined;
}

/** Split `[epoch:]pkgver[-pkgrel]` like alpm (epoch defaults to "0"). */
export function parseAlpmEvr(evr: string): AlpmEvr {
  let k = 0;
  while (isDigit(evr[k])) k++;
  const dash = evr.lastIndexOf('-');
  const hasRelease = dash >= k;
  const end = hasRelease ? dash : evr.length;
  const release = hasRelease ? evr.slice(dash + 1) : undefined;
  if (evr[k] === ':') {
    const epoch = evr.slice(0, k);
    return { epoch: epoch === '' ? '0' : epoch, version: evr.slice(k + 1, end), release };
  }
  return { epoch: '0', version: evr.slice(0, end), release };
}

/** libalpm's alpm_pkg_vercmp: -1, 0 or 1. */
export function comparePacmanVersions(a: string, b: string): number {
  if (a === b) return 0;
  const pa = parseAlpmEvr(a);
  const pb = parseAlpmEvr(b);
  const byEpoch = alpmSegmentCompare(pa.epoch, pb.epoch);
  if (byEpoch !== 0) return byEpoch;
  const byVersion = alpmSegmentCompare(pa.version, pb.version);
  if (byVersion !== 0 || pa.release === undefined || pb.release === undefined) return byVersion;
  return alpmSegmentCompare(pa.release, pb.release);
}

const PKGVER = /^[A-Za-z0-9._+~]+$/;

export const pacmanVersion: VersionScheme = {
  name: 'pacman',
  /** `[epoch:]pkgver[-pkgrel]` as makepkg allows them: pkgver without `-` and `:`, pkgrel like `1` or `2.1`. */
  isValid(v: string): boolean {
    const m = /^(?:(\d+):)?([^:-]+)(?:-(\d+(?:\.\d+)?))?$/.exec(v);
    return m?.[2] !== undefined && PKGVER.test(m[2]) && isAlnum(m[2][0]);
  },
  compare: comparePacmanVersions,
};
