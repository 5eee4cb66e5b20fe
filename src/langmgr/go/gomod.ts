/**
 * The go.mod fallback: `go get mod@version` (then `go mod tidy -e` only if needed, `go mod vendor` when
 * vendored) in module directories of the image. This fixes the source, NOT the compiled binaries.
 */
import { compareGo } from './versions.js';
import { inTarget, type GoSession } from './session.js';

/** Copa's list of module directories to look at when the report names no go.mod. */
export const MODULE_DIRS = ['/app', '/go/src', '/usr/src/app', '/workspace', '/src', '/opt/app'];

/** Required module versions of a go.mod (require lines and blocks; replace targets are not read). */
export function parseRequires(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let block = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (/^require\s*\($/.test(line)) block = true;
    else if (block && line === ')') block = false;
    else {
      const m = (block ? /^"?([^\s"]+)"?\s+(\S+)$/ : /^require\s+"?([^\s"]+)"?\s+(\S+)$/).exec(line);
      if (m) out.set(m[1]!, m[2]!);
    }
  }
  return out;
}

/** The module directory (image path) of a report's gomod pkgPath (`app/go.mod`, `/app`). */
export function moduleDirOf(pkgPath: string): string {
  const p = '/' + pkgPath.replace(/^\/+/, '').replace(/\/+$/, '');
  return p.endsWith('/go.mod') ? p.slice(0, -'/go.mod'.length) || '/' : p;
}

export interface ModPlanItem {
  name: string;
  from: string;
  to: string;
}

/** What `go get` would change in one module dir (entries not required there are returned apart). */
export async function planModule(
  s: GoSession,
  dir: string,
  wanted: Map<string, string>,
): Promise<{ items: ModPlanItem[]; absent: string[]; current: string[]; missing: boolean }> {
  const text = await s.read(inTarget(`${dir}/go.mod`));
  if (text === undefined) return { items: [], absent: [...wanted.keys()], current: [], missing: true };
  const req = parseRequires(text);
  const items: ModPlanItem[] = [];
  const absent: string[] = [];
  const current: string[] = [];
  for (const [name, to] of wanted) {
    const from = req.get(name);
    if (from === undefined) absent.push(name);
    else if (compareGo(from, to) >= 0) current.push(name);
    else items.push({ name, from, to });
  }
  return { items, absent, current, missing: false };
}

/** Apply the plan in place (the image's go.mod/go.sum, and vendor/ when present); returns versions after. */
export async function applyModule(
  s: GoSession,
  dir: string,
  items: ModPlanItem[],
): Promise<Map<string, string>> {
  const where = inTarget(dir);
  const go = (...args: string[]): string[] => ['go', '-C', where, ...args];
  await s.run(go('get', ...items.map((i) => `${i.name}@${i.to}`)));
  const vendored = (await s.run(['test', '-d', `${where}/vendor`], { allowFail: true })).code === 0;
  const workspace = (await s.run(['test', '-f', `${where}/go.work`], { allowFail: true })).code === 0;
  const sync = async (): Promise<void> => {
    if (vendored) await s.run(workspace ? go('work', 'vendor') : go('mod', 'vendor'));
  };
  await sync();
  if ((await s.run(go('list', '-deps', './...'), { allowFail: true })).code !== 0) {
    await s.run(go('mod', 'tidy', '-e'));
    await sync();
  }
  return parseRequires((await s.read(`${where}/go.mod`)) ?? '');
}
