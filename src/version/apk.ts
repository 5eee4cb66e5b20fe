/**
 * Alpine (apk-tools) package versions, written from apk-tools' version rules and checked against its own
 * test vectors (see apk.test.ts; no apk binary is reachable here).
 *
 * Grammar: `digits{.digits}...{letter}{_suffix{digits}}...{~hash}{-r digits}`, e.g. `1.2.3b_rc1_p2~ab12-r4`.
 * Tokens are compared left to right while both strings have a token of the same kind:
 * - numbers by value (any length); a dotted number with a leading zero (`1.07`) is compared as a string
 *   with the other one, like Gentoo does;
 * - a letter by its character; suffixes in the order `_alpha < _beta < _pre < _rc < (none) < _cvs < _svn <
 *   _git < _hg < _p`; a `~hash` as a string.
 * When the token kinds differ: a pre-release suffix (`_alpha`..`_rc`) makes its side older; otherwise the side
 * whose next token comes earlier in the grammar (a number before a letter before a suffix ... before the end)
 * is newer: `1.0.1 > 1.0a > 1.0_p1 > 1.0 > 1.0_rc1`, `1.0-r1 > 1.0`.
 *
 * `isValid` is apk's own validity rule. `compare` orders invalid strings the way apk does too (an invalid
 * part sorts below everything), so it never throws.
 */
import type { VersionScheme } from './types.js';

const enum Tok {
  InitialDigit = 0,
  Digit = 1,
  Letter = 2,
  Suffix = 3,
  SuffixNo = 4,
  CommitHash = 5,
  RevisionNo = 6,
  End = 7,
  Invalid = 8,
}

/** Suffix order; NONE (no suffix) is the pivot between pre-release and post-release suffixes. */
const SUFFIXES = ['', 'alpha', 'beta', 'pre', 'rc', '', 'cvs', 'svn', 'git', 'hg', 'p'] as const;
const SUFFIX_NONE = 5;

interface Token {
  kind: Tok;
  /** the token's text (digits without the dot, the letter, the suffix word, the hash) */
  text: string;
  number: bigint;
  suffix: number;
}

/** Walks one version string token by token. */
class Lexer {
  private pos = 0;
  readonly token: Token = { kind: Tok.InitialDigit, text: '', number: 0n, suffix: 0 };

  constructor(private readonly s: string) {
    this.digits(Tok.InitialDigit);
  }

  private digits(kind: Tok): void {
    const start = this.pos;
    while (this.pos < this.s.length && isDigit(this.s[this.pos])) this.pos++;
    const text = this.s.slice(start, this.pos);
    this.token.kind = text === '' ? Tok.Invalid : kind;
    this.token.text = text;
    this.token.number = text === '' ? 0n : BigInt(text);
  }

  private span(ok: (c: string | undefined) => boolean): string {
    const start = this.pos;
    while (this.pos < this.s.length && ok(this.s[this.pos])) this.pos++;
    return this.s.slice(start, this.pos);
  }

  next(): void {
    const t = this.token;
    if (this.pos >= this.s.length) {
      t.kind = Tok.End;
      return;
    }
    const c = this.s[this.pos];
    if (c !== undefined && c >= 'a' && c <= 'z') {
      if (t.kind > Tok.Digit) return this.invalid();
      t.kind = Tok.Letter;
      t.text = c;
      this.pos++;
    } else if (c === '.' || isDigit(c)) {
      if (c === '.') {
        if (t.kind > Tok.Digit) return this.invalid();
        this.pos++;
      }
      if (t.kind === Tok.InitialDigit || t.kind === Tok.Digit) this.digits(Tok.Digit);
      else if (t.kind === Tok.Suffix) this.digits(Tok.SuffixNo);
      else this.invalid();
    } else if (c === '_') {
      if (t.kind > Tok.SuffixNo) return this.invalid();
      this.pos++;
      t.text = this.span((x) => x !== undefined && x >= 'a' && x <= 'z');
      t.suffix = suffixValue(t.text);
      t.kind = t.suffix === 0 ? Tok.Invalid : Tok.Suffix;
    } else if (c === '~') {
      if (t.kind >= Tok.CommitHash) return this.invalid();
      this.pos++;
      t.text = this.span((x) => x !== undefined && /^[0-9a-fA-F]$/.test(x));
      t.kind = t.text === '' ? Tok.Invalid : Tok.CommitHash;
    } else if (c === '-') {
      if (t.kind >= Tok.RevisionNo || this.s[this.pos + 1] !== 'r') return this.invalid();
      this.pos += 2;
      this.digits(Tok.RevisionNo);
    } else {
      this.invalid();
    }
  }

  private invalid(): void {
    this.token.kind = Tok.Invalid;
  }
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function suffixValue(word: string): number {
  const k = SUFFIXES.indexOf(word as (typeof SUFFIXES)[number]);
  return word === '' || k < 0 ? 0 : k;
}

/** Byte-wise string order, shorter first on a common prefix. */
function stringOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmp<T extends bigint | number>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareTokens(a: Token, b: Token): number {
  switch (a.kind) {
    case Tok.Digit:
      if (a.text.startsWith('0') || b.text.startsWith('0')) return stringOrder(a.text, b.text);
      return cmp(a.number, b.number);
    case Tok.InitialDigit:
    case Tok.SuffixNo:
    case Tok.RevisionNo:
      return cmp(a.number, b.number);
    case Tok.Letter:
      return stringOrder(a.text, b.text);
    case Tok.Suffix:
      return cmp(a.suffix, b.suffix);
    default:
      return stringOrder(a.text, b.text);
  }
}

/** apk's comparison: -1, 0 or 1. */
export function compareApkVersions(a: string, b: string): number {
  const la = new Lexer(a);
  const lb = new Lexer(b);
  const ta = la.token;
  const tb = lb.token;
  while (ta.kind === tb.kind && ta.kind < Tok.End) {
    const r = compareTokens(ta, tb);
    if (r !== 0) return r;
    la.next();
    lb.next();
  }
  if (ta.kind === tb.kind) return 0;
  if (ta.kind === Tok.Suffix && ta.suffix < SUFFIX_NONE) return -1;
  if (tb.kind === Tok.Suffix && tb.suffix < SUFFIX_NONE) return 1;
  return ta.kind > tb.kind ? -1 : 1;
}

/** apk's validity rule (`apk version --check`). */
export function isValidApkVersion(v: string): boolean {
  const lexer = new Lexer(v);
  while (lexer.token.kind < Tok.End) lexer.next();
  return lexer.token.kind === Tok.End;
}

export const apkVersion: VersionScheme = {
  name: 'apk',
  isValid: isValidApkVersion,
  compare: compareApkVersions,
};
