/**
 * The package directories one report entry stands for: the copy the report names plus every other copy of
 * the same package in the app's (or global package's) node_modules tree that a caret range of its version
 * would accept the fix for (Copa replaces every copy; a copy of another major is left to its own entry).
 */
import semver from 'semver';
import type { Executor } from '../../engine/types.js';
import { parseManifest, type Manifest } from './names.js';
import type { Target } from './paths.js';

export interface Copy {
  /** image path, no leading / */
  dir: string;
  from: string;
}

const MAX_LISTS = 20_000;
const MAX_DEPTH = 24;

export const under = (dir: string, rel: string): string => (dir === '' ? rel : `${dir}/${rel}`);

export async function readManifest(exec: Executor, dir: string): Promise<Manifest | undefined> {
  return parseManifest(await exec.readFile(`/${under(dir, 'package.json')}`));
}

/** Package dirs by package name. */
export type DirIndex = Map<string, string[]>;

/**
 * Every package directory in the node_modules trees below `scope`, by name (bounded walk; dot entries
 * skipped): one walk serves every report entry of the same app.
 */
export async function packageDirs(exec: Executor, scope: string): Promise<DirIndex> {
  const out: DirIndex = new Map();
  let lists = 0;
  const visit = async (nm: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH || lists >= MAX_LISTS) return;
    lists++;
    const entries = await exec.list(`/${nm}`);
    if (!entries) return;
    const pkgs: string[] = [];
    for (const e of entries) {
      if (e.startsWith('.')) continue;
      if (!e.startsWith('@')) {
        pkgs.push(e);
        continue;
      }
      lists++;
      for (const s of (await exec.list(`/${nm}/${e}`)) ?? []) if (!s.startsWith('.')) pkgs.push(`${e}/${s}`);
    }
    for (const p of pkgs) {
      const dirs = out.get(p);
      if (dirs) dirs.push(`${nm}/${p}`);
      else out.set(p, [`${nm}/${p}`]);
      await visit(`${nm}/${p}/node_modules`, depth + 1);
    }
  };
  await visit(under(scope, 'node_modules'), 0);
  return out;
}

/** Every `<name>` directory in the node_modules trees below `scope`. */
export async function findCopies(exec: Executor, scope: string, name: string): Promise<string[]> {
  return (await packageDirs(exec, scope)).get(name) ?? [];
}

/** The copies to replace for `name` at `target`, or why there are none. */
export async function planCopies(
  exec: Executor,
  target: Target,
  name: string,
  to: string,
  /** the walk of `target.scope` (packageDirs), when the caller keeps one */
  index?: DirIndex,
): Promise<{ copies: Copy[]; reason: string }> {
  const dirs = new Set<string>();
  if (target.reported) dirs.add(target.reported);
  for (const d of (index ?? (await packageDirs(exec, target.scope))).get(name) ?? []) dirs.add(d);
  const copies: Copy[] = [];
  let reason = `no copy of ${name} below ${to} in /${target.scope}`;
  for (const dir of dirs) {
    const m = await readManifest(exec, dir);
    const v = typeof m?.version === 'string' ? m.version : undefined;
    const isReported = dir === target.reported;
    if (m?.name !== name || v === undefined) {
      if (isReported) reason = `not installed at /${dir}`;
      continue;
    }
    const valid = semver.valid(v) !== null;
    if (isReported) {
      if (valid && semver.gte(v, to)) reason = `already at ${v} (>= ${to})`;
      else copies.push({ dir, from: v });
    } else if (valid && semver.lt(v, to) && semver.satisfies(to, `^${v}`)) {
      copies.push({ dir, from: v });
    }
  }
  return { copies, reason };
}

/** Where node looks for `dep` from package dir `dir`, in order: `dir/node_modules/dep`, then each ancestor's. */
export function lookupPaths(dir: string, dep: string): string[] {
  const segs = dir.split('/');
  const out: string[] = [];
  for (let i = segs.length; i >= 0; i--) {
    if (i > 0 && segs[i - 1] === 'node_modules') continue;
    out.push(under(segs.slice(0, i).join('/'), `node_modules/${dep}`));
  }
  return out;
}

/** Dependencies of the new version that node would not find (or find at a version outside the range). */
export async function missingDeps(
  exec: Executor,
  dir: string,
  deps: Record<string, string>,
  optional: Record<string, string>,
): Promise<string[]> {
  const problems: string[] = [];
  for (const [dep, range] of Object.entries(deps)) {
    if (dep in optional) continue;
    let found: string | undefined;
    for (const p of lookupPaths(dir, dep)) {
      const m = await readManifest(exec, p);
      if (m) {
        found = typeof m.version === 'string' ? m.version : '';
        break;
      }
    }
    if (found === undefined) problems.push(`${dep}@${range} is not installed`);
    else if (semver.validRange(range) !== null && semver.valid(found) && !semver.satisfies(found, range)) {
      problems.push(`${dep}@${range} is needed but ${found} is installed`);
    }
  }
  return problems;
}
