/**
 * Copa's library version choice (`--library-patch-level`): pure functions, no I/O.
 * Reproduces Copa v0.14.2 `FindOptimalFixedVersionWithPatchLevel` and the grouping of Trivy library
 * entries around it (pkg/report/trivy.go); README.md "Choosing the library version" has the rules.
 */
import type { UpdatePackage } from '../report/types.js';

export type LibraryPatchLevel = 'patch' | 'minor' | 'major';

type Triple = [bigint, bigint, bigint];

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Go's strconv.Atoi: optional sign, ASCII digits, 64-bit range; anything else fails. */
function atoi(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

/** Copa's parseVersion: `v` stripped once, first three dot parts as integers, patch cut at `-`. */
function parseLoose(version: string): Triple | undefined {
  const parts = (version.startsWith('v') ? version.slice(1) : version).split('.');
  const out: Triple = [0n, 0n, 0n];
  for (let i = 0; i < 3 && i < parts.length; i++) {
    const text = i === 2 ? (parts[2] ?? '').split('-')[0] : parts[i];
    const n = atoi(text ?? '');
    if (n === undefined) return undefined;
    out[i] = n;
  }
  return out;
}

const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Copa's compareVersions: numeric major.minor.patch, plain string comparison when either fails to parse. */
export function compareLoose(a: string, b: string): number {
  const pa = parseLoose(a);
  const pb = parseLoose(b);
  if (pa === undefined || pb === undefined) return cmpStr(a, b);
  for (let i = 0; i < 3; i++) {
    const x = pa[i] ?? 0n;
    const y = pb[i] ?? 0n;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Copa's parseVersionParts: every dot part's leading-digit prefix (0 when none or out of range). */
function leadingParts(version: string): bigint[] {
  const parts = (version.startsWith('v') ? version.slice(1) : version).split('.');
  return parts.map((p) => atoi(/^[0-9]*/.exec(p)?.[0] ?? '') ?? 0n);
}

/** The first of the highest candidates (a later equal one, e.g. `v1.2.3` after `1.2.3`, does not win). */
function highest(versions: string[]): string {
  let best = versions[0] ?? '';
  for (const v of versions.slice(1)) if (compareLoose(v, best) > 0) best = v;
  return best;
}

/** Go's strings.TrimSpace (Unicode White_Space). */
const trimSpace = (s: string): string => s.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, '');

/** Copa's choice among the fixed versions of one library; '' = no update. `entries` = the FixedVersion strings of the report entries (each may be a comma list). */
export function chooseFixedVersion(installed: string, entries: string[], level: LibraryPatchLevel): string {
  const hasComma = entries.some((e) => e.includes(','));
  const candidates = entries.flatMap((e) => e.split(',')).map(trimSpace);
  const valid = candidates.filter((c) => c !== '' && compareLoose(c, installed) > 0);
  if (valid.length === 0) return '';

  const inst = leadingParts(installed);
  const patch: string[] = [];
  const minor: string[] = [];
  const major: string[] = [];
  for (const v of valid) {
    const p = leadingParts(v);
    if (p.length >= 2 && inst.length >= 2 && p[0] === inst[0] && p[1] === inst[1]) patch.push(v);
    else if (p[0] === inst[0]) minor.push(v);
    else major.push(v);
  }

  const firstNonEmpty = (...buckets: string[][]): string => highest(buckets.find((b) => b.length > 0) ?? []);
  switch (level) {
    case 'minor':
      return firstNonEmpty(patch, minor);
    case 'major':
      return hasComma ? firstNonEmpty(patch, minor, major) : highest(valid);
    default: // 'patch', and (as in Copa) any unknown value
      return firstNonEmpty(patch);
  }
}

export interface LibrarySelection {
  /** one entry per (name, pkgPath, vulnerabilityID) with fixedVersion = the chosen version, sorted by name then ID (Copa's order) */
  updates: UpdatePackage[];
  /** groups with no acceptable version at this level, and skipped .NET runtime/build packages: name, pkgPath, reason */
  skipped: Array<{ name: string; pkgPath: string; type: string; reason: string }>;
}

/** Packages that NuGet PackageReference cannot install (SDK/build, shared-framework runtime packs). */
const DOTNET_UNPATCHABLE_PREFIXES = [
  'Microsoft.Build.',
  'Microsoft.AspNetCore.App.Runtime.',
  'Microsoft.NETCore.App.Runtime.',
  'Microsoft.WindowsDesktop.App.Runtime.',
  'Microsoft.AspNetCore.App.Ref',
  'Microsoft.NETCore.App.Ref',
  'Microsoft.NETCore.App.Host.',
];

/** Libraries always chosen at `major` level whatever the flag says. */
const ALWAYS_MAJOR: ReadonlySet<string> = new Set(['certifi']);

const LEVELS: readonly LibraryPatchLevel[] = ['patch', 'minor', 'major'];

function isDotnetUnpatchable(u: UpdatePackage): boolean {
  return u.type === 'dotnet-core' && DOTNET_UNPATCHABLE_PREFIXES.some((p) => u.name.startsWith(p));
}

function noChoiceReason(installed: string, entries: string[], level: LibraryPatchLevel): string {
  const fixes = [...new Set(entries.flatMap((e) => e.split(',')).map(trimSpace))].filter((f) => f !== '');
  const list = fixes.join(', ');
  if (chooseFixedVersion(installed, entries, 'major') === '') {
    return `no fixed version above installed ${installed} (fixes: ${list})`;
  }
  const next = LEVELS.slice(LEVELS.indexOf(level) + 1).find(
    (l) => chooseFixedVersion(installed, entries, l) !== '',
  );
  return `no fix at ${level} level (fixes: ${list}; try --library-patch-level ${next ?? 'major'})`;
}

/** Group report library entries by name + NUL + pkgPath, apply the .NET skip list, certifi always 'major', choose per group. */
export function selectLibraryUpdates(lang: UpdatePackage[], level: LibraryPatchLevel): LibrarySelection {
  const groups = new Map<string, UpdatePackage[]>();
  const skipped: LibrarySelection['skipped'] = [];
  const skippedKeys = new Set<string>();
  for (const u of lang) {
    const key = `${u.name}\0${u.pkgPath ?? ''}`;
    if (isDotnetUnpatchable(u)) {
      if (!skippedKeys.has(key)) {
        skippedKeys.add(key);
        const reason = '.NET SDK/runtime package: not installable as a NuGet PackageReference';
        skipped.push({ name: u.name, pkgPath: u.pkgPath ?? '', type: u.type ?? '', reason });
      }
      continue;
    }
    if (u.fixedVersion === '') continue; // no fix reported: Copa counts it as skipped in the summary only
    const group = groups.get(key);
    if (group) group.push(u);
    else groups.set(key, [u]);
  }

  const updates: UpdatePackage[] = [];
  for (const group of groups.values()) {
    const first = group[0];
    if (first === undefined) continue;
    const entries = group.map((u) => u.fixedVersion);
    const groupLevel = ALWAYS_MAJOR.has(first.name) ? 'major' : level;
    const chosen = chooseFixedVersion(first.installedVersion, entries, groupLevel);
    const pkgPath = first.pkgPath ?? '';
    if (chosen === '') {
      const reason = noChoiceReason(first.installedVersion, entries, groupLevel);
      skipped.push({ name: first.name, pkgPath, type: first.type ?? '', reason });
      continue;
    }
    const ids = [...new Set(group.map((u) => u.vulnerabilityID).filter((id) => id !== ''))].sort(cmpStr);
    for (const vulnerabilityID of ids.length > 0 ? ids : ['']) {
      updates.push({
        name: first.name,
        installedVersion: first.installedVersion,
        fixedVersion: chosen,
        vulnerabilityID,
        ...(first.type !== undefined ? { type: first.type } : {}),
        class: 'lang-pkgs',
        ...(pkgPath !== '' ? { pkgPath } : {}),
      });
    }
  }
  updates.sort(
    (a, b) =>
      cmpStr(a.name, b.name) ||
      cmpStr(a.vulnerabilityID, b.vulnerabilityID) ||
      cmpStr(a.pkgPath ?? '', b.pkgPath ?? ''),
  );
  skipped.sort((a, b) => cmpStr(a.name, b.name) || cmpStr(a.pkgPath, b.pkgPath));
  return { updates, skipped };
}

/** Go `stdlib` entries separated from module entries (their highest fixed version = required toolchain). */
export function splitGoStdlib(lang: UpdatePackage[]): { stdlib: UpdatePackage[]; rest: UpdatePackage[] } {
  const isStdlib = (u: UpdatePackage): boolean =>
    u.name === 'stdlib' && (u.type === 'gomod' || u.type === 'gobinary');
  return { stdlib: lang.filter(isStdlib), rest: lang.filter((u) => !isStdlib(u)) };
}
