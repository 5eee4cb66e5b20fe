/**
 * What every scanner parser builds the same way: the vulnerability counters of the patch summary and the
 * internal entries for OS packages and libraries.
 */
import type { SummaryCounts, UpdatePackage } from './types.js';

export function counter(): SummaryCounts {
  return { total: 0, patched: 0, skipped: 0 };
}

/** One vulnerability: patched when it has a fix, skipped otherwise. */
export function count(c: SummaryCounts, fixed: boolean): void {
  c.total++;
  if (fixed) c.patched++;
  else c.skipped++;
}

export interface Finding {
  name: string;
  installed: string;
  fixed: string;
  id: string;
  /** OS type, or library ecosystem (python-pkg, ...) */
  type: string;
}

export function osEntry(f: Finding): UpdatePackage {
  return {
    name: f.name,
    installedVersion: f.installed,
    fixedVersion: f.fixed,
    vulnerabilityID: f.id,
    type: f.type,
    class: 'os-pkgs',
  };
}

/** A library entry; `pkgPath` is kept in Trivy's form (no leading `/`), left out when unknown. */
export function libraryEntry(f: Finding, pkgPath: string): UpdatePackage {
  const path = pkgPath.replace(/^\/+/, '');
  return { ...osEntry(f), class: 'lang-pkgs', ...(path !== '' ? { pkgPath: path } : {}) };
}
