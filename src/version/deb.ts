/**
 * Debian package versions, written from Debian policy §5.6.12 and checked against
 * `dpkg --compare-versions` in deb.test.ts.
 *
 * Format: `[epoch:]upstream_version[-debian_revision]`.
 * - epoch: unsigned decimal integer (0 when absent), at most 2147483647 like dpkg; split at the first `:`.
 * - debian_revision: everything after the last `-` (so upstream may contain `-` only when a revision exists).
 * - upstream: `[A-Za-z0-9.+~:-]`, revision: `[A-Za-z0-9.+~]`.
 *
 * Ordering of upstream and revision: alternate non-digit and digit runs from the left. Non-digit runs are
 * compared character by character where `~` sorts before everything (even the end of the string), then
 * the end of the string, then letters (ASCII order), then every other character (ASCII order). Digit runs
 * are compared as numbers of any length (leading zeros ignored); a missing run counts as 0.
 *
 * Validity, decided here (`isValid`):
 * - invalid where dpkg itself refuses the string: empty, embedded blanks, empty / non-decimal / too big
 *   epoch, nothing after the colon, empty upstream, empty revision after a trailing `-`;
 * - also invalid where dpkg only warns: upstream not starting with a digit (policy says it "should", the
 *   comparator Copa uses rejects it) and characters outside the sets above. `compare` still orders such
 *   strings exactly like dpkg does, so an odd version found in an image never breaks a comparison.
 * - leading and trailing blanks (space, tab) are ignored, like dpkg does.
 * - non-ASCII characters are invalid; their relative order is not guaranteed to match dpkg's byte order.
 */
import { CopaError } from '../errors.js';
import type { VersionScheme } from './types.js';

export interface DebVersion {
  /** Epoch as a number (0 when absent). */
  epoch: number;
  upstream: string;
  /** Empty when the version has no revision. */
  revision: string;
}

/** Result of parsing: `error` = dpkg refuses the string; `warning` = dpkg accepts it with a warning. */
export type DebParseResult =
  { ok: true; version: DebVersion; warning?: string } | { ok: false; error: string };

const MAX_EPOCH = 2147483647;
const UPSTREAM_CHARS = /^[A-Za-z0-9.+~:-]*$/;
const REVISION_CHARS = /^[A-Za-z0-9.+~]*$/;

/** Parse a Debian version without throwing. */
export function parseDebVersion(input: string): DebParseResult {
  const s = input.replace(/^[ \t]+|[ \t]+$/g, '');
  if (s === '') return { ok: false, error: 'version string is empty' };
  if (/[ \t]/.test(s)) return { ok: false, error: 'version string has embedded spaces' };

  let epoch = 0;
  let rest = s;
  const colon = s.indexOf(':');
  if (colon >= 0) {
    const epochText = s.slice(0, colon);
    if (epochText === '') return { ok: false, error: 'epoch in version is empty' };
    if (!/^[0-9]+$/.test(epochText)) return { ok: false, error: 'epoch in version is not a number' };
    epoch = Number(epochText);
    if (epoch > MAX_EPOCH) return { ok: false, error: 'epoch in version is too big' };
    rest = s.slice(colon + 1);
    if (rest === '') return { ok: false, error: 'nothing after colon in version number' };
  }

  let upstream = rest;
  let revision = '';
  const hyphen = rest.lastIndexOf('-');
  if (hyphen >= 0) {
    upstream = rest.slice(0, hyphen);
    revision = rest.slice(hyphen + 1);
    if (revision === '') return { ok: false, error: 'revision number is empty' };
  }
  if (upstream === '') return { ok: false, error: 'upstream version is empty' };

  const version: DebVersion = { epoch, upstream, revision };
  if (!isDigit(upstream.charCodeAt(0))) {
    return { ok: true, version, warning: 'version number does not start with a digit' };
  }
  if (!UPSTREAM_CHARS.test(upstream)) {
    return { ok: true, version, warning: 'invalid character in version number' };
  }
  if (!REVISION_CHARS.test(revision)) {
    return { ok: true, version, warning: 'invalid character in revision number' };
  }
  return { ok: true, version };
}

const ZERO = 0x30;
const NINE = 0x39;
const TILDE = 0x7e;
/** Char code used for "past the end of the string". */
const END = -1;

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function codeAt(s: string, i: number): number {
  return i < s.length ? s.charCodeAt(i) : END;
}

/** Sort weight of one character inside a non-digit run. */
function weight(c: number): number {
  if (c === END || isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === TILDE) return -1;
  return c + 256;
}

/** Compare two upstream versions or two revisions with the Debian algorithm. */
export function compareDebFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // Non-digit run: compared character by character with `weight`.
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const wa = weight(codeAt(a, i));
      const wb = weight(codeAt(b, j));
      if (wa !== wb) return wa - wb;
      i++;
      j++;
    }
    // Digit run: numeric value of any length; leading zeros do not count.
    while (codeAt(a, i) === ZERO) i++;
    while (codeAt(b, j) === ZERO) j++;
    let firstDiff = 0;
    while (isDigit(codeAt(a, i)) && isDigit(codeAt(b, j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(codeAt(a, i))) return 1; // a's number has more digits
    if (isDigit(codeAt(b, j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/** Compare two parsed versions: epoch, then upstream, then revision. */
export function compareDebVersions(a: DebVersion, b: DebVersion): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  return compareDebFragment(a.upstream, b.upstream) || compareDebFragment(a.revision, b.revision);
}

function parseOrThrow(v: string): DebVersion {
  const r = parseDebVersion(v);
  if (!r.ok) {
    throw new CopaError('VALIDATION', `invalid Debian version ${JSON.stringify(v)}: ${r.error}`, {
      hint: 'Debian versions look like [epoch:]upstream[-revision], e.g. 1:2.36-9+deb12u4',
    });
  }
  return r.version;
}

export const debVersion: VersionScheme = {
  name: 'deb',
  isValid(v: string): boolean {
    const r = parseDebVersion(v);
    return r.ok && r.warning === undefined;
  },
  compare(a: string, b: string): number {
    const c = compareDebVersions(parseOrThrow(a), parseOrThrow(b));
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  },
};
