/**
 * RPM package versions, written from rpm's documented ordering rules (rpmvercmp, rpm 4.15+ with tilde and
 * caret) and checked against the real `rpm` (its Lua `rpm.vercmp`) in rpm.test.ts.
 *
 * Format: `[epoch:]version[-release]`.
 * - epoch: the leading digits when a `:` follows them (an empty epoch before `:` counts as 0); a version
 *   without an epoch compares like epoch 0.
 * - release: everything after the last `-` (after the epoch). A version with a release sorts above the same
 *   version without one.
 *
 * Segment ordering (epoch, version and release each): skip separators (anything but ASCII letters, digits,
 * `~`, `^`); `~` sorts before everything, even the end of the string (1.0~rc1 < 1.0); `^` sorts after the end
 * of the string but before any other segment (1.0 < 1.0^git1 < 1.0.1); then the next run of digits or of
 * letters is compared: numbers by value (any length, leading zeros ignored), letters by ASCII order, a number
 * beats letters. When all segments match, the string with characters left over wins.
 *
 * Validity (`isValid`), decided here, as strict as Copa's rule: the version starts with a digit and only
 * `[A-Za-z0-9._+~^]` occur in version and release, the epoch is decimal, at most one `:` and one `-`.
 * `compare` orders any strings exactly like rpm does, so an odd version found in an image never breaks it.
 */
import type { VersionScheme } from './types.js';

export interface RpmEvr {
  /** undefined when the string has no `epoch:` prefix */
  epoch: string | undefined;
  version: string;
  /** undefined when the string has no `-release` */
  release: string | undefined;
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function isAlpha(c: string | undefined): boolean {
  return c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

function isSegmentChar(c: string | undefined): boolean {
  return isDigit(c) || isAlpha(c) || c === '~' || c === '^';
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** rpm's segment comparison of two version (or release, or epoch) strings: -1, 0 or 1. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isSegmentChar(a[i])) i++;
    while (j < b.length && !isSegmentChar(b[j])) j++;
    const ca = a[i];
    const cb = b[j];
    // tilde: sorts before everything else
    if (ca === '~' || cb === '~') {
      if (ca !== '~') return 1;
      if (cb !== '~') return -1;
      i++;
      j++;
      continue;
    }
    // caret: like tilde, except that the end of a string sorts before it
    if (ca === '^' || cb === '^') {
      if (ca === undefined) return -1;
      if (cb === undefined) return 1;
      if (ca !== '^') return 1;
      if (cb !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (ca === undefined || cb === undefined) break;
    const numeric = isDigit(ca);
    const same = numeric ? isDigit : isAlpha;
    let ei = i;
    let ej = j;
    while (ei < a.length && same(a[ei])) ei++;
    while (ej < b.length && same(b[ej])) ej++;
    // b has a segment of the other kind here: a number beats letters
    if (ej === j) return numeric ? 1 : -1;
    let sa = a.slice(i, ei);
    let sb = b.slice(j, ej);
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/** Split `[epoch:]version[-release]` the way rpm does (never fails). */
export function parseRpmEvr(evr: string): RpmEvr {
  let k = 0;
  while (isDigit(evr[k])) k++;
  const dash = evr.lastIndexOf('-');
  const hasRelease = dash >= k;
  const end = hasRelease ? dash : evr.length;
  if (evr[k] === ':') {
    const epoch = evr.slice(0, k);
    return {
      epoch: epoch === '' ? '0' : epoch,
      version: evr.slice(k + 1, end),
      release: hasRelease ? evr.slice(dash + 1) : undefined,
    };
  }
  return {
    epoch: undefined,
    version: evr.slice(0, end),
    release: hasRelease ? evr.slice(dash + 1) : undefined,
  };
}

function compareOptional(a: string | undefined, b: string | undefined): number {
  if (a === undefined && b === undefined) return 0;
  if (b === undefined) return 1;
  if (a === undefined) return -1;
  return rpmvercmp(a, b);
}

/** Compare two parsed versions: epoch (missing = 0), version, release (missing < present). */
export function compareRpmEvr(a: RpmEvr, b: RpmEvr): number {
  return (
    compareOptional(a.epoch ?? '0', b.epoch ?? '0') ||
    compareOptional(a.version, b.version) ||
    compareOptional(a.release, b.release)
  );
}

/** `name-[epoch:]version-release.arch` (dnf/microdnf NEVRA output) split into its parts. */
export function parseNevra(nevra: string): { name: string; evr: string; arch: string } | undefined {
  const dot = nevra.lastIndexOf('.');
  const relDash = nevra.lastIndexOf('-', dot);
  const verDash = nevra.lastIndexOf('-', relDash - 1);
  if (dot <= 0 || relDash <= 0 || verDash <= 0) return undefined;
  const name = nevra.slice(0, verDash);
  const evr = nevra.slice(verDash + 1, dot);
  const arch = nevra.slice(dot + 1);
  if (!name || !arch || !evr) return undefined;
  return { name, evr, arch };
}

const PART = /^[A-Za-z0-9._+~^]+$/;

export const rpmVersion: VersionScheme = {
  name: 'rpm',
  isValid(v: string): boolean {
    if ((v.match(/:/g) ?? []).length > 1) return false;
    const p = parseRpmEvr(v);
    if (v.includes(':') && p.epoch === undefined) return false;
    if (p.epoch !== undefined && !/^[0-9]+$/.test(p.epoch)) return false;
    if (!PART.test(p.version) || !isDigit(p.version[0]) || p.version.includes('-')) return false;
    return p.release === undefined || PART.test(p.release);
  },
  compare(a: string, b: string): number {
    return sign(compareRpmEvr(parseRpmEvr(a), parseRpmEvr(b)));
  },
};
