import { CopaError } from '../../errors.js';

/**
 * Known secrets of one client (passwords, tokens, encoded basic credentials). Every text that comes
 * from outside (response bodies, helper output, error messages of lower layers) passes through
 * `redact` before it reaches a log line or an error.
 */
export class Secrets {
  private readonly values = new Set<string>();

  add(...secrets: (string | undefined)[]): void {
    for (const s of secrets) {
      // very short values would blank out ordinary words; they are not worth hiding that way
      if (s !== undefined && s.length >= 4) this.values.add(s);
    }
  }

  redact(text: string): string {
    return redact(text, this.values);
  }

  /** A copy of `err` whose message and hint are redacted (code and cause kept). */
  scrub(err: CopaError): CopaError {
    const message = this.redact(err.message);
    const hint = err.hint === undefined ? undefined : this.redact(err.hint);
    if (message === err.message && hint === err.hint) return err;
    const copy = new CopaError(err.code, message, { hint, cause: err.cause });
    copy.stack = this.redact(err.stack ?? '');
    return copy;
  }
}

const PATTERNS: [RegExp, string][] = [
  // Authorization header values
  [/\b(Basic|Bearer)\s+[A-Za-z0-9\-._~+/]+=*/gi, '$1 ***'],
  // user:password@ in URLs
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi, '$1***@'],
  // token-like JSON fields and query/form parameters
  [
    /("(?:token|access_token|refresh_token|identitytoken|password|secret|auth)"\s*:\s*")[^"]*(")/gi,
    '$1***$2',
  ],
  [/\b((?:access_token|refresh_token|password|token)=)[^&\s]+/gi, '$1***'],
];

/** Remove the given secrets and anything that looks like a credential from a text. */
export function redact(text: string, secrets: Iterable<string> = []): string {
  let out = text;
  // longest first, so a secret that contains another is removed whole
  const sorted = [...secrets].sort((a, b) => b.length - a.length);
  for (const s of sorted) out = out.split(s).join('***');
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  return out;
}
