/**
 * Finding Go binaries in the image (bound at TARGET in the tooling root): `go version -m` over the
 * report's paths, or over the usual binary directories when the report names none.
 */
import { parseGoVersionM, type BuildInfo } from './buildinfo.js';
import { inTarget, TARGET, type GoSession } from './session.js';

/** Copa's scan list, with how deep each is searched. */
export const SCAN_DIRS: ReadonlyArray<[string, number]> = [
  ['/', 1],
  ['/usr/local/bin', 1],
  ['/usr/bin', 1],
  ['/bin', 1],
  ['/sbin', 1],
  ['/usr/sbin', 1],
  ['/app', 3],
  ['/opt', 3],
  ['/go/bin', 1],
  ['/usr/share', 2],
];

/**
 * An image path with its symlinks resolved inside the image (a link to `/usr/bin/x` must not be read
 * from the tooling root), as a tooling-root path; undefined when it does not exist.
 */
export async function resolveInImage(s: GoSession, path: string): Promise<string | undefined> {
  let parts = path.split('/').filter((p) => p && p !== '.');
  const done: string[] = [];
  for (let hops = 0; parts.length > 0 && hops < 40;) {
    const name = parts.shift()!;
    if (name === '..') {
      done.pop();
      continue;
    }
    const here = `${TARGET}/${[...done, name].join('/')}`;
    const link = await s.run(['readlink', '--', here], { allowFail: true });
    if (link.code === 0 && link.stdout.trim() !== '') {
      hops++;
      const target = link.stdout.replace(/\n$/, '');
      if (target.startsWith('/')) done.length = 0;
      parts = [...target.split('/').filter((p) => p && p !== '.'), ...parts];
      continue;
    }
    done.push(name);
  }
  if (parts.length > 0) return undefined;
  const full = `${TARGET}/${done.join('/')}`;
  const isFile = await s.run(['test', '-f', full], { allowFail: true });
  return isFile.code === 0 ? full : undefined;
}

/** Build info of the given tooling-root files (those that are Go binaries). */
export async function buildInfos(s: GoSession, files: string[]): Promise<BuildInfo[]> {
  const out: BuildInfo[] = [];
  for (let i = 0; i < files.length; i += 100) {
    const r = await s.run(['go', 'version', '-m', '--', ...files.slice(i, i + 100)], { allowFail: true });
    out.push(...parseGoVersionM(r.stdout));
  }
  return out;
}

/** Executable regular files of the scan list (symlinks are not followed: their targets are listed too). */
export async function scanCandidates(s: GoSession): Promise<string[]> {
  const files: string[] = [];
  for (const [dir, depth] of SCAN_DIRS) {
    const r = await s.run(
      [
        'find',
        inTarget(dir),
        '-xdev',
        '-maxdepth',
        String(depth),
        '-type',
        'f',
        '-perm',
        '/111',
        '-size',
        '+64k',
      ],
      { allowFail: true },
    );
    files.push(...r.stdout.split('\n').filter((l) => l.startsWith(`${TARGET}/`)));
  }
  return [...new Set(files)].sort();
}

/** Mode (octal string), uid and gid of a tooling-root path. */
export async function fileOwner(
  s: GoSession,
  file: string,
): Promise<{ mode: number; uid: string; gid: string }> {
  const r = await s.run(['stat', '-c', '%a %u %g', '--', file]);
  const [mode = '755', uid = '0', gid = '0'] = r.stdout.trim().split(' ');
  return { mode: parseInt(mode, 8), uid, gid };
}
