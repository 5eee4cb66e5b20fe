/**
 * Shared by every OS package manager: collapse report entries to one per package, and check after the
 * install that every package reached its fixed version (Copa §2.3 items 1 and 3).
 */
import { CopaError } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import type { UpdatePackage } from '../../report/types.js';
import type { VersionScheme } from '../../version/types.js';

export interface UpdateCheckOptions {
  /** Copa's --ignore-errors: warn and go on instead of failing. */
  ignoreErrors?: boolean;
  logger?: Logger;
}

export interface InstallFailure {
  name: string;
  /** Version found after the install. */
  installed: string;
  /** Fixed version the report asked for. */
  required: string;
  /** One-line reason, e.g. Copa's "downloaded package … lower than required … for update". */
  message: string;
}

export interface InstallCheck {
  /** Installed at (or above) the fixed version. */
  ok: UpdatePackage[];
  /** Installed below the fixed version (or with a version that cannot be compared). */
  failed: InstallFailure[];
  /** Not installed any more after the update (only a warning, as in Copa). */
  missing: UpdatePackage[];
}

const byName = (a: UpdatePackage, b: UpdatePackage): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/** Join messages into one line, listing at most `max` of them. */
function oneLine(messages: string[], max = 10): string {
  const shown = messages.slice(0, max).join('; ');
  return messages.length > max ? `${shown}; and ${messages.length - max} more` : shown;
}

/**
 * One entry per package name: the one with the highest fixed version (the first of equal ones), sorted
 * by name. An invalid fixed version fails unless `ignoreErrors` (then that entry is dropped with a warning).
 */
export function uniqueLatestUpdates(
  updates: readonly UpdatePackage[],
  scheme: VersionScheme,
  opts: UpdateCheckOptions = {},
): UpdatePackage[] {
  const logger = opts.logger ?? silentLogger;
  const latest = new Map<string, UpdatePackage>();
  const invalid: string[] = [];
  for (const u of updates) {
    if (!scheme.isValid(u.fixedVersion)) {
      invalid.push(`invalid version ${JSON.stringify(u.fixedVersion)} found for package ${u.name}`);
      continue;
    }
    const current = latest.get(u.name);
    if (current === undefined || scheme.compare(current.fixedVersion, u.fixedVersion) < 0)
      latest.set(u.name, u);
  }
  if (invalid.length > 0) {
    if (!opts.ignoreErrors) {
      throw new CopaError('REPORT', oneLine(invalid), {
        hint: `the report has fixed versions that are not valid ${scheme.name} versions; fix the report or use --ignore-errors to skip those entries`,
      });
    }
    for (const m of invalid) logger.warn(`${m}; ignoring it (--ignore-errors)`);
  }
  return [...latest.values()].sort(byName);
}

/**
 * Compare what is installed after the update with what the report required. Fails with every offender
 * listed unless `ignoreErrors` (then each is a warning and the caller excludes `failed` from the VEX).
 */
export function validateInstalled(
  required: readonly UpdatePackage[],
  installed: ReadonlyMap<string, string>,
  scheme: VersionScheme,
  opts: UpdateCheckOptions = {},
): InstallCheck {
  const logger = opts.logger ?? silentLogger;
  const result: InstallCheck = { ok: [], failed: [], missing: [] };
  for (const u of required) {
    const version = installed.get(u.name);
    if (version === undefined) {
      logger.warn(
        `package ${u.name} is not installed after the update; it may have been uninstalled during upgrade`,
      );
      result.missing.push(u);
      continue;
    }
    const fail = (message: string): void => {
      result.failed.push({ name: u.name, installed: version, required: u.fixedVersion, message });
    };
    if (!scheme.isValid(version)) {
      fail(`invalid version ${JSON.stringify(version)} found for installed package ${u.name}`);
    } else if (!scheme.isValid(u.fixedVersion)) {
      fail(`invalid version ${JSON.stringify(u.fixedVersion)} found for package ${u.name}`);
    } else if (scheme.compare(version, u.fixedVersion) < 0) {
      fail(
        `downloaded package ${u.name} version ${version} lower than required ${u.fixedVersion} for update`,
      );
    } else {
      result.ok.push(u);
    }
  }
  if (result.failed.length > 0) {
    const messages = result.failed.map((f) => f.message);
    if (!opts.ignoreErrors) {
      throw new CopaError('VALIDATION', oneLine(messages), {
        hint:
          "the image's package repositories do not offer the fixed versions yet (the scanner database may be " +
          'newer than the mirror); scan again later, or use --ignore-errors to write the image anyway',
      });
    }
    for (const m of messages) logger.warn(m);
  }
  return result;
}
