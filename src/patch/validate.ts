/**
 * Input checks that run before any work (no pull, no network): a bad flag value is a usage error
 * (exit 2) that names the flag, whichever parser found the problem.
 */
import { CopaError } from '../errors.js';
import { parsePlatform } from '../oci/platform.js';

/** Run a parser on a flag's value; its REFERENCE / PLATFORM / USAGE error becomes a USAGE error naming `flag`. */
export function asUsage<T>(flag: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof CopaError) || !['REFERENCE', 'PLATFORM', 'USAGE'].includes(e.code)) throw e;
    const message = e.message.startsWith(flag) ? e.message : `${flag}: ${e.message}`;
    throw new CopaError('USAGE', message, { ...(e.hint ? { hint: e.hint } : {}), cause: e });
  }
}

export function checkPlatforms(platforms: readonly string[]): void {
  for (const p of platforms) asUsage('--platform', () => parsePlatform(p));
}
