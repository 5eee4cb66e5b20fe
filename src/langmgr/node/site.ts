/**
 * Where npm, tar and cp run: in the image itself (it has npm) or in a Node tooling image with the image
 * bound at `prefix`. Every script is a constant; report data only ever travels as argv.
 */
import { randomBytes } from 'node:crypto';
import type { Executor, RootName } from '../../engine/types.js';
import { sandboxEnv } from '../../engine/env.js';

export interface Site {
  exec: Executor;
  where: RootName;
  /** '' in the image; the image's mount point in a tooling root */
  prefix: string;
  env: Record<string, string>;
  onOutput?: ((stream: 'stdout' | 'stderr', data: string) => void) | undefined;
}

/** Image path (no leading /) -> the path a command of this site uses. */
export function sitePath(site: Pick<Site, 'prefix'>, rel: string): string {
  return rel === '' ? site.prefix || '/' : `${site.prefix}/${rel}`;
}

/** npm settings for every call: cache and logs in the tmpfs /tmp, no notifier, audit or funding calls. */
export function npmEnv(
  toolEnv: Record<string, string>,
  userconfig: string | undefined,
): Record<string, string> {
  return sandboxEnv({
    ...toolEnv,
    HOME: '/tmp',
    npm_config_cache: '/tmp/.npm',
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    ...(userconfig ? { npm_config_userconfig: userconfig } : {}),
  });
}

/** The first line of npm's error output that says what went wrong. */
export function npmError(stderr: string, stdout = ''): string {
  const lines = stderr.split('\n').map((l) => l.trim());
  for (const l of lines) {
    const m = /^npm (?:ERR!|error) (.*)$/.exec(l);
    const msg = m?.[1]?.trim() ?? '';
    if (msg === '' || /^(code|errno|syscall|A complete log|Log files|\/)/.test(msg)) continue;
    return msg.replace(/^[a-z]+ (?=[A-Z])/, '');
  }
  return lines.filter(Boolean).pop() ?? (stdout.trim().split('\n').pop() || 'no output');
}

/** A fresh scratch dir name in the site's own /tmp (a tmpfs in the image; the tooling root's /tmp otherwise). */
export function scratchName(): string {
  return `/tmp/copa-node-${randomBytes(6).toString('hex')}`;
}

export async function mustRun(site: Site, argv: string[], stdin?: string): Promise<string> {
  const r = await site.exec.run(argv, {
    in: site.where,
    env: site.env,
    ...(stdin !== undefined ? { stdin } : {}),
    ...(site.onOutput ? { onOutput: site.onOutput } : {}),
  });
  if (r.code !== 0)
    throw new Error(`${argv[0] ?? ''} failed (exit ${r.code}): ${r.stderr.trim().split('\n').pop() ?? ''}`);
  return r.stdout;
}

export interface Spec {
  name: string;
  version: string;
}

/** The file `npm pack` writes for name@version (`@s/a` -> `s-a-1.0.0.tgz`). */
export function tarballName(spec: Spec): string {
  return `${spec.name.replace(/^@/, '').replace('/', '-')}-${spec.version}.tgz`;
}

/**
 * What one `npm pack` run gave: per spec (same order) the tarball path in the site's root or why there is
 * none; or the error of the whole run (`npm: false` when npm itself did not start: missing, no node, …).
 */
export type PackRun =
  { files: Array<{ file: string } | { error: string }> } | { error: string; npm: boolean };

const PACK = 'mkdir -p "$1" && cd "$1" || exit 1; shift; exec "$@"';

/**
 * `npm pack --json <specs…>` in `dir` (created): one npm start for every spec. npm (7 and later) resolves
 * every manifest before it writes any tarball, so a missing version fails the whole run.
 */
export async function npmPack(site: Site, dir: string, specs: readonly Spec[]): Promise<PackRun> {
  const args = specs.map((p) => `${p.name}@${p.version}`);
  const argv = ['sh', '-c', PACK, 'sh', dir, 'npm', 'pack', '--json', ...args];
  const r = await site.exec.run(argv, { in: site.where, env: site.env });
  if (r.code !== 0) {
    // npm's own failures say `npm ERR!` (npm ≤ 9) or `npm error`; anything else: npm did not run here
    const npm = r.code !== 126 && r.code !== 127 && /^npm (ERR!|error) /m.test(r.stderr);
    return { error: npmError(r.stderr, r.stdout), npm };
  }
  let out: unknown;
  try {
    out = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')));
  } catch {
    // older npm: the names npm gives its tarballs
  }
  const listed = Array.isArray(out) ? (out as unknown[]) : [];
  const present = new Set((await site.exec.list(dir, site.where)) ?? []);
  return {
    files: specs.map((spec, i) => {
      // npm lists the tarballs in the order of its arguments; match by name and version to be sure
      const item =
        listed.find((x) => isPacked(x) && x.name === spec.name && x.version === spec.version) ?? listed[i];
      const given = isPacked(item) && typeof item.filename === 'string' ? item.filename : '';
      const base = given.replace(/^@/, '').replace('/', '-');
      const file = /^[\w.-]+\.tgz$/.test(base) && present.has(base) ? base : tarballName(spec);
      return present.has(file)
        ? { file: `${dir}/${file}` }
        : { error: `npm pack ${args[i] ?? ''} wrote no tarball` };
    }),
  };
}

const isPacked = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object';

/**
 * Replace each package dir by its tarball's `package/`: its files go, its nested node_modules stays, owner
 * of the dir kept; then its `bin` targets are made executable, as npm does when it installs (tarballs may
 * lack the bit). The tarballs were validated before (no links, no `..`, only package/).
 * argv: stage dir, then per copy: tarball, dir, number of bin targets, the bin targets.
 * stdout: `ok <i>` or `fail <i> <the error on one line>` per copy (a failed copy does not stop the rest).
 */
const REPLACE = [
  'stage=$1; shift',
  'rep() {',
  '  [ -d "$2" ] && [ ! -L "$2" ] || { echo "$2 is not a directory"; return 3; }',
  '  rm -rf "$stage" && mkdir -p "$stage" &&',
  '  tar -xzof "$1" -C "$stage" &&',
  '  owner=$(stat -c %u:%g "$2") &&',
  '  chown -R "$owner" "$stage/package" &&',
  '  find "$2" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} + &&',
  '  cp -Rp "$stage/package/." "$2/" &&',
  '  rm -rf "$stage"',
  '}',
  'i=0',
  'while [ $# -ge 3 ]; do',
  '  tgz=$1; dir=$2; n=$3; shift 3',
  '  [ "$n" -le $# ] || { echo "bad arguments at $dir" >&2; exit 2; }',
  '  if out=$(rep "$tgz" "$dir" 2>&1); then ok=1; else ok=; fi',
  '  while [ "$n" -gt 0 ]; do',
  '    if [ -n "$ok" ] && [ -f "$1" ] && [ ! -L "$1" ]; then chmod a+x "$1" || { ok=; out="chmod a+x $1 failed"; }; fi',
  '    shift; n=$((n - 1))',
  '  done',
  '  if [ -n "$ok" ]; then echo "ok $i"; else printf \'fail %s %s\\n\' "$i" "$(printf \'%s\' "$out" | tr \'\\n\' \' \')"; fi',
  '  i=$((i + 1))',
  'done',
  '[ $# -eq 0 ] || { echo "bad arguments at the end" >&2; exit 2; }',
].join('\n');

export interface Replacement {
  /** the validated tarball, a path of the site */
  tgz: string;
  /** image path of the package dir */
  dir: string;
  /** `bin` targets, relative to the package dir */
  bins: string[];
}

/** Every replacement in one shell run: per copy, undefined when done, else why not. */
export async function replacePackages(
  site: Site,
  stage: string,
  copies: readonly Replacement[],
): Promise<Array<string | undefined>> {
  if (copies.length === 0) return [];
  const argv = ['sh', '-c', REPLACE, 'sh', stage];
  for (const c of copies) {
    const dir = sitePath(site, c.dir);
    argv.push(c.tgz, dir, String(c.bins.length), ...c.bins.map((b) => `${dir}/${b}`));
  }
  const stdout = await mustRun(site, argv);
  const status = new Map<number, string | undefined>();
  for (const line of stdout.split('\n')) {
    const m = /^(ok|fail) (\d+)(?: (.*))?$/.exec(line);
    if (m)
      status.set(Number(m[2]), m[1] === 'ok' ? undefined : (m[3] ?? '').trim().slice(0, 500) || 'failed');
  }
  return copies.map((_, i) => (status.has(i) ? status.get(i) : 'no result from the replacement script'));
}

/** Overwrite an existing file (owner and mode kept). */
export async function writeText(site: Site, rel: string, text: string): Promise<void> {
  await mustRun(site, ['sh', '-c', 'cat > "$1"', 'sh', sitePath(site, rel)], text);
}

/** Where the image is bound inside a tooling root. */
export const TOOLING_TARGET = '/copa-image';

/**
 * Tooling images for an image without npm: `node:<major>-alpine` from `NODE_VERSION` (image env, then
 * history), else `node:lts-alpine` (Copa's choice).
 */
export function toolingImages(env: readonly string[], history: readonly string[]): string[] {
  const lts = 'docker.io/library/node:lts-alpine';
  for (const line of [...env, ...history]) {
    const major = /\bNODE_VERSION[= ]v?(\d{1,3})\.\d/.exec(line)?.[1];
    if (major) return [`docker.io/library/node:${major}-alpine`, lts];
  }
  return [lts];
}
