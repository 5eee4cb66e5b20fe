/**
 * From report entries to targets: names and versions checked, one target per (name, path), located in
 * the image (site-packages dir, environment), compared with what the image really holds.
 */
import { gte, rcompare } from '@renovatebot/pep440';
import { CopaError } from '../../errors.js';
import type { Executor } from '../../engine/types.js';
import type { UpdatePackage } from '../../report/types.js';
import type { LanguageResult } from '../types.js';
import { locate, normalizeName, validName, validVersion, type Location } from './paths.js';
import { installedVersions, isVenv } from './site.js';

export interface Target {
  name: string;
  /** the chosen fixed version */
  version: string;
  /** the version the image holds now */
  from: string;
  pkgPath: string;
  loc: Location;
  /** what changes[].path says: the venv root, else the site-packages dir */
  root: string;
}

export const TYPE = 'python-pkg';

/** Report data that fails the checks: a CopaError, or (with --ignore-errors) a failure entry. */
function reject(
  out: LanguageResult,
  ignore: boolean,
  u: UpdatePackage,
  code: 'PACKAGE_NAME' | 'REPORT',
  why: string,
): void {
  if (!ignore) {
    throw new CopaError(code, `python library ${JSON.stringify(u.name)}: ${why}`, {
      hint: 'the report entry is not usable; fix the report or pass --ignore-errors to patch the rest',
    });
  }
  out.failed.push({
    type: TYPE,
    name: u.name,
    path: u.pkgPath ?? '',
    required: u.fixedVersion,
    installed: null,
    reason: why,
  });
}

/** One target per (normalised name, pkgPath): the highest chosen version of its entries. */
function dedup(out: LanguageResult, updates: UpdatePackage[], ignore: boolean): UpdatePackage[] {
  const byKey = new Map<string, UpdatePackage>();
  for (const u of updates) {
    if (!validName(u.name)) {
      reject(out, ignore, u, 'PACKAGE_NAME', 'not a valid Python package name');
      continue;
    }
    if (!validVersion(u.fixedVersion)) {
      reject(
        out,
        ignore,
        u,
        'REPORT',
        `fixed version ${JSON.stringify(u.fixedVersion)} is not a PEP 440 version`,
      );
      continue;
    }
    const key = `${normalizeName(u.name)}\0${u.pkgPath ?? ''}`;
    const seen = byKey.get(key);
    if (!seen || rcompare(u.fixedVersion, seen.fixedVersion) < 0) byKey.set(key, u);
  }
  return [...byKey.values()];
}

/** Checked, located targets; entries not in the image or already fixed go to `out.skipped`. */
export async function planTargets(
  exec: Executor,
  updates: UpdatePackage[],
  out: LanguageResult,
  ignore: boolean,
): Promise<Target[]> {
  const targets: Target[] = [];
  const venvs = new Map<string, boolean>();
  for (const u of dedup(out, updates, ignore)) {
    const pkgPath = u.pkgPath ?? '';
    const skip = (reason: string) => out.skipped.push({ name: u.name, path: pkgPath, reason });
    const loc = locate(pkgPath);
    if (!loc) {
      skip(pkgPath ? `not a site-packages path: ${pkgPath}` : 'no install path in the report');
      continue;
    }
    if (loc.debianDist) {
      skip(`installed by a Debian package (${loc.site}): patch it as an OS package`);
      continue;
    }
    let found: string[];
    if (loc.vendoredMeta !== undefined) {
      const meta = loc.vendoredMeta;
      const dir = `${loc.site}/${meta.slice(0, meta.lastIndexOf('/'))}`;
      found = (await exec.list(dir, 'image'))?.includes(meta.slice(meta.lastIndexOf('/') + 1))
        ? [u.installedVersion]
        : [];
    } else found = await installedVersions(exec, loc.site, u.name);
    if (found.length === 0) {
      skip(`not installed at ${loc.site}`);
      continue;
    }
    const valid = found.filter(validVersion).sort(rcompare);
    const from = valid[valid.length - 1] ?? found[0] ?? u.installedVersion;
    if (found.every((v) => validVersion(v) && gte(v, u.fixedVersion))) {
      skip(`already at ${from} (fix: ${u.fixedVersion})`);
      continue;
    }
    if (!venvs.has(loc.prefix)) venvs.set(loc.prefix, loc.ownPrefix && (await isVenv(exec, loc.prefix)));
    const root = venvs.get(loc.prefix) ? loc.prefix : loc.site;
    targets.push({ name: u.name, version: u.fixedVersion, from, pkgPath, loc, root });
  }
  return targets;
}
