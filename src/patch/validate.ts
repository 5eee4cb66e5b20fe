/**
 * Input checks that run before any work (no pull, no network): a bad flag value is a usage error
 * (exit 2) that names the flag, whichever parser found the problem.
 */
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CopaError } from '../errors.js';
import type { Logger } from '../log.js';
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

/**
 * --sbom: its directory must exist before any work (the document is written after the push, and a push
 * without its SBOM is what the user did not ask for); a dry run writes none.
 */
export async function checkSbomOutput(
  opts: { sbomOutput?: string | undefined; dryRun: boolean },
  logger: Logger,
): Promise<void> {
  if (!opts.sbomOutput) return;
  if (opts.dryRun) {
    logger.warn('--sbom: a dry run writes no SBOM (nothing is patched)');
    return;
  }
  const dir = dirname(resolve(opts.sbomOutput));
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new CopaError('USAGE', `--sbom: directory ${dir} does not exist`, {
      hint: 'create it first, or choose a file in an existing directory',
    });
  }
}
