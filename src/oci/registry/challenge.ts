/**
 * WWW-Authenticate parsing (RFC 7235): `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
 * One header may carry several challenges; a registry may also send several headers.
 */
export interface Challenge {
  /** lower-case scheme: `basic`, `bearer`, ... */
  scheme: string;
  /** auth-params with lower-case names */
  params: Record<string, string>;
}

const TOKEN_CHARS = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_CHARS = /[A-Za-z0-9\-._~+/]/;

class Scanner {
  i = 0;
  constructor(readonly s: string) {}
  get done(): boolean {
    return this.i >= this.s.length;
  }
  peek(offset = 0): string {
    return this.s[this.i + offset] ?? '';
  }
  skipSpaces(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.i++;
  }
  skipSeparators(): void {
    while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === ',') this.i++;
  }
  token(): string {
    const start = this.i;
    while (!this.done && TOKEN_CHARS.test(this.peek())) this.i++;
    return this.s.slice(start, this.i);
  }
  quoted(): string {
    this.i++; // opening quote
    let out = '';
    while (!this.done && this.peek() !== '"') {
      if (this.peek() === '\\' && this.i + 1 < this.s.length) this.i++;
      out += this.peek();
      this.i++;
    }
    this.i++; // closing quote (or end)
    return out;
  }
  /** Is the text at the cursor `name =` (an auth-param) rather than a new scheme? */
  atParam(): boolean {
    let j = this.i;
    while (j < this.s.length && TOKEN_CHARS.test(this.s[j] ?? '')) j++;
    if (j === this.i) return false;
    while (this.s[j] === ' ' || this.s[j] === '\t') j++;
    return this.s[j] === '=';
  }
  /** token68 (e.g. `Negotiate abc==`), only when followed by end or a comma */
  token68(): string | undefined {
    let j = this.i;
    while (j < this.s.length && TOKEN68_CHARS.test(this.s[j] ?? '')) j++;
    const end = j;
    while (this.s[j] === '=') j++;
    let k = j;
    while (this.s[k] === ' ' || this.s[k] === '\t') k++;
    if (end === this.i || (k < this.s.length && this.s[k] !== ',')) return undefined;
    const value = this.s.slice(this.i, j);
    this.i = j;
    return value;
  }
}

/** Parse one or more WWW-Authenticate header values into challenges (unknown syntax is skipped). */
export function parseWwwAuthenticate(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  if (typeof header !== 'string') return header.flatMap((h) => parseWwwAuthenticate(h));
  const sc = new Scanner(header);
  const out: Challenge[] = [];
  while (!sc.done) {
    sc.skipSeparators();
    const scheme = sc.token();
    if (scheme === '') {
      sc.i++; // garbage: skip one character
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    sc.skipSpaces();
    // `abc123==` right after the scheme is a token68, not a parameter named abc123
    const t68 = sc.token68();
    if (t68 !== undefined) challenge.params['token68'] = t68;
    for (;;) {
      sc.skipSeparators();
      if (sc.done || !sc.atParam()) break;
      const name = sc.token().toLowerCase();
      sc.skipSpaces();
      sc.i++; // '='
      sc.skipSpaces();
      challenge.params[name] = sc.peek() === '"' ? sc.quoted() : sc.token();
    }
  }
  return out;
}

/** The challenge the client should answer: Bearer preferred over Basic; undefined when neither. */
export function pickChallenge(challenges: readonly Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}
