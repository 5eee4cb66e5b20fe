import type { LibraryChange } from '../langmgr/types.js';
import type { UpdatePackage } from '../report/types.js';
import type { PlannedUpdate } from '../pkgmgr/types.js';
import type { VersionScheme } from '../version/types.js';

/** What a patch will do; printed by --dry-run and part of --json. Pure data. */
export interface PatchPlan {
  mode: 'report' | 'update-all';
  image: string;
  target: string;
  platform: string;
  os: { type: string; version: string };
  /** report packages whose installed version already satisfies the fix */
  alreadyFixed: Array<{ name: string; installed: string; fixed: string }>;
  /** report packages the image does not have (never newly installed) */
  notInstalled: string[];
  /** packages held by the image (apt-mark hold): not patched */
  held: string[];
  /** what the package manager will change, from its own simulation */
  updates: PlannedUpdate[];
  /** library updates (--pkg-types library): planned in a dry run, done otherwise */
  libraries?: LibraryChange[] | undefined;
  /** report libraries left alone, and why (no fix at this patch level, not installed, ...) */
  librariesSkipped?: Array<{ type: string; name: string; path: string; reason: string }> | undefined;
  /** how the plan was made, when not the usual way (a rootless --dry-run: no package-manager simulation) */
  note?: string | undefined;
}

export interface Selection {
  /** names to hand to the package manager */
  names: string[];
  alreadyFixed: PatchPlan['alreadyFixed'];
  notInstalled: string[];
}

/**
 * Report mode: from the (deduplicated) report updates and the image's installed versions, pick the packages
 * that really need an update. Packages already at or above the fixed version, and packages the image does
 * not contain, are left out (and reported).
 */
export function selectUpdates(
  required: UpdatePackage[],
  installed: Map<string, string>,
  scheme: VersionScheme,
): Selection {
  const names: string[] = [];
  const alreadyFixed: Selection['alreadyFixed'] = [];
  const notInstalled: string[] = [];
  for (const u of required) {
    const have = installed.get(u.name);
    if (have === undefined) notInstalled.push(u.name);
    else if (scheme.isValid(u.fixedVersion) && scheme.compare(have, u.fixedVersion) >= 0) {
      alreadyFixed.push({ name: u.name, installed: have, fixed: u.fixedVersion });
    } else names.push(u.name);
  }
  return { names, alreadyFixed, notInstalled };
}

/** One line per planned package: `name from -> to`. */
export function formatPlan(plan: PatchPlan): string[] {
  const lines = [
    `Patching ${plan.image} (${plan.platform}, ${plan.os.type} ${plan.os.version}) -> ${plan.target}`,
    `Mode: ${plan.mode === 'report' ? 'report' : 'update all packages'}`,
  ];
  if (plan.updates.length === 0 && (plan.libraries ?? []).length === 0) lines.push('No package updates.');
  for (const u of plan.updates) lines.push(`  ${u.name} ${u.from ?? '(new)'} -> ${u.to}`);
  for (const f of plan.alreadyFixed) lines.push(`  ${f.name} ${f.installed} already >= ${f.fixed}`);
  for (const n of plan.notInstalled) lines.push(`  ${n} is not installed in the image (skipped)`);
  for (const h of plan.held) lines.push(`  ${h} is held (apt-mark hold): not patched`);
  for (const l of plan.libraries ?? []) lines.push(`  ${l.type} ${l.name} ${l.from} -> ${l.to} (${l.path})`);
  for (const l of plan.librariesSkipped ?? []) {
    lines.push(`  ${l.type} ${l.name}${l.path ? ` (${l.path})` : ''}: ${l.reason}`);
  }
  if (plan.note) lines.push(`Note: ${plan.note}`);
  return lines;
}
