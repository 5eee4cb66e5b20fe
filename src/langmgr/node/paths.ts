/**
 * Where a report's Node.js package lives: the app dir (the path before the first `/node_modules/`) or a
 * globally installed package (under `npm root -g`). Report paths are untrusted: odd ones are skipped.
 */

/** Global roots we know without asking npm (official images, distro packages). */
export const KNOWN_GLOBAL_ROOTS = ['usr/local/lib/node_modules', 'usr/lib/node_modules'];

/**
 * The global roots known without running npm: the well-known ones plus `$NPM_CONFIG_PREFIX/lib/node_modules`
 * of the image's env (npm reads `npm_config_*` case-insensitively; the last line wins).
 */
export function globalRoots(imageEnv: readonly string[]): string[] {
  let prefix: string | undefined;
  for (const line of imageEnv) {
    const i = line.indexOf('=');
    if (i > 0 && line.slice(0, i).toLowerCase() === 'npm_config_prefix') prefix = line.slice(i + 1);
  }
  const p = prefix?.startsWith('/') ? normalizePath(prefix) : undefined;
  const extra = p === undefined ? [] : [p === '' ? 'lib/node_modules' : `${p}/lib/node_modules`];
  return [...new Set([...KNOWN_GLOBAL_ROOTS, ...extra])];
}

/**
 * The dir before the first `node_modules` of a report path when its `node_modules` is not one of
 * `globalRoots` (then it is an app dir, or a global root we do not know); undefined otherwise.
 */
export function unknownBase(pkgPath: string, globalRoots: readonly string[]): string | undefined {
  const segs = normalizePath(pkgPath)?.split('/');
  const first = segs?.indexOf('node_modules') ?? -1;
  if (!segs || first < 0) return undefined;
  const base = segs.slice(0, first).join('/');
  return globalRoots.includes(base === '' ? 'node_modules' : `${base}/node_modules`) ? undefined : base;
}

/** npm and corepack are never patched themselves (Copa's rule): only packages inside their trees. */
const SELF = new Set(['npm', 'corepack']);

export interface Target {
  kind: 'app' | 'global';
  /** image path (no leading /) whose node_modules tree holds the copies to replace */
  scope: string;
  /** what a change names as its path: the app dir or the global root (absolute) */
  display: string;
  /** the package directory the report names, when its path is `…/node_modules/<name>/package.json` */
  reported?: string;
}

export type Placement = Target | { skip: string };

/** `/a//b/` -> `a/b`; undefined when a segment is `.` or `..` or holds a NUL. */
export function normalizePath(path: string): string | undefined {
  const segs = path.split('/').filter((s) => s !== '');
  if (segs.some((s) => s === '.' || s === '..' || s.includes('\0'))) return undefined;
  return segs.join('/');
}

/** Where the package `name` reported at `pkgPath` lives (`globalRoots`: image paths without leading /). */
export function placePackage(pkgPath: string, name: string, globalRoots: readonly string[]): Placement {
  const p = normalizePath(pkgPath);
  if (p === undefined) return { skip: `unsafe path ${JSON.stringify(pkgPath)}` };
  if (p === '') return { skip: 'the report gives no path' };
  const segs = p.split('/');
  const nameSegs = name.split('/');
  const first = segs.indexOf('node_modules');
  if (first === -1) {
    // a lock file or package.json of an app: search the app's tree
    const dir = /\.json$/.test(p) ? segs.slice(0, -1).join('/') : p;
    return { kind: 'app', scope: dir, display: `/${dir}` };
  }
  const tail = ['node_modules', ...nameSegs, 'package.json'];
  const namesDir =
    segs.length >= tail.length && tail.every((s, i) => segs[segs.length - tail.length + i] === s);
  const reported = namesDir ? segs.slice(0, -1).join('/') : undefined;
  const base = segs.slice(0, first).join('/');
  const root = base === '' ? 'node_modules' : `${base}/node_modules`;
  if (globalRoots.includes(root)) {
    const rest = segs.slice(first + 1);
    const top = rest[0]?.startsWith('@') ? rest.slice(0, 2).join('/') : rest[0];
    if (top === undefined || top === '' || top === 'package.json') return { skip: 'no package in the path' };
    if (SELF.has(top) && reported === `${root}/${top}`) {
      return { skip: `${top} itself is not patched (only packages inside its tree)` };
    }
    return {
      kind: 'global',
      scope: `${root}/${top}`,
      display: `/${root}`,
      ...(reported ? { reported } : {}),
    };
  }
  return { kind: 'app', scope: base, display: `/${base}`, ...(reported ? { reported } : {}) };
}
