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

const IN_DIR = 'cd "$1" || exit 1; shift; exec "$@"';

/** A fresh scratch dir in the site's own /tmp (a tmpfs in the image; the tooling root's /tmp otherwise). */
export async function scratchDir(site: Site): Promise<string> {
  const dir = `/tmp/copa-node-${randomBytes(6).toString('hex')}`;
  await mustRun(site, ['mkdir', '-p', dir]);
  return dir;
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

/** `npm pack <spec>` inside `dir`: the path of the tarball (in the site's root), or an error line. */
export async function npmPack(
  site: Site,
  dir: string,
  spec: string,
): Promise<{ file: string } | { error: string }> {
  const argv = ['sh', '-c', IN_DIR, 'sh', dir, 'npm', 'pack', '--json', spec];
  const r = await site.exec.run(argv, { in: site.where, env: site.env });
  if (r.code !== 0) return { error: npmError(r.stderr, r.stdout) };
  try {
    const out = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as Array<{ filename?: unknown }>;
    const name = out[0]?.filename;
    const base = typeof name === 'string' ? name.replace(/^@/, '').replace('/', '-') : '';
    if (/^[\w.-]+\.tgz$/.test(base)) return { file: `${dir}/${base}` };
  } catch {
    // older npm: fall back to the listing
  }
  const tgz = (await site.exec.list(dir, site.where))?.filter((f) => f.endsWith('.tgz')) ?? [];
  return tgz.length === 1 ? { file: `${dir}/${tgz[0]}` } : { error: `npm pack ${spec} wrote no tarball` };
}

/**
 * Replace the package in `dir` by the tarball's `package/`: its files go, its nested node_modules stays,
 * owner of the dir kept. The tarball was validated before (no links, no `..`, only package/).
 */
const REPLACE = [
  'set -eu',
  'tgz=$1; stage=$2; dir=$3',
  '[ -d "$dir" ] && [ ! -L "$dir" ] || { echo "$dir is not a directory" >&2; exit 3; }',
  'rm -rf "$stage"; mkdir -p "$stage"',
  'tar -xzof "$tgz" -C "$stage"',
  'owner=$(stat -c %u:%g "$dir")',
  'chown -R "$owner" "$stage/package"',
  'find "$dir" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +',
  'cp -Rp "$stage/package/." "$dir/"',
  'rm -rf "$stage"',
].join('\n');

export async function replacePackage(site: Site, tgz: string, stage: string, dir: string): Promise<void> {
  await mustRun(site, ['sh', '-c', REPLACE, 'sh', tgz, stage, sitePath(site, dir)]);
}

const EXECUTABLE = 'for f; do if [ -f "$f" ] && [ ! -L "$f" ]; then chmod a+x "$f"; fi; done';

/** Make the package's `bin` targets executable, as npm does when it installs (tarballs may lack the bit). */
export async function markExecutable(site: Site, dir: string, bins: string[]): Promise<void> {
  if (bins.length === 0) return;
  await mustRun(site, ['sh', '-c', EXECUTABLE, 'sh', ...bins.map((b) => sitePath(site, `${dir}/${b}`))]);
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
