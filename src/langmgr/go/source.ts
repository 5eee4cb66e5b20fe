/**
 * The main module's source for a rebuild, in a writable scratch dir of the tooling root:
 * 1. a released version: the module proxy's zip (`go mod download -json path@version`);
 * 2. `--go-vcs-url https://host/org/repo[@ref]` (any https git host);
 * 3. the binary's `vcs.revision` (+ a repository derived from the module path).
 */
import type { BuildInfo } from './buildinfo.js';
import { isRelease } from './versions.js';
import { StepError, type GoSession } from './session.js';

const VCS_URL = /^(https:\/\/[A-Za-z0-9.-]+(?::\d+)?\/[A-Za-z0-9._~/-]+?)(?:@([A-Za-z0-9._/+-]+))?$/;
const REVISION = /^[0-9a-f]{7,64}$/;

/** `https://host/org/repo@ref` → url and ref (ref may be a tag, branch or commit). */
export function parseVcsUrl(raw: string): { url: string; ref?: string | undefined } | undefined {
  const m = VCS_URL.exec(raw.trim());
  if (!m || m[1]!.includes('..') || m[2]?.startsWith('-') || m[2]?.includes('..')) return undefined;
  return { url: m[1]!, ref: m[2] };
}

/** The repository of a module path on the well-known hosts (vanity paths need --go-vcs-url). */
export function repoFor(modulePath: string): string | undefined {
  const p = modulePath.split('/');
  if (['github.com', 'gitlab.com', 'bitbucket.org', 'codeberg.org'].includes(p[0] ?? '') && p.length >= 3) {
    return `https://${p.slice(0, 3).join('/')}`;
  }
  if (p[0] === 'golang.org' && p[1] === 'x' && p[2]) return `https://go.googlesource.com/${p[2]}`;
  return undefined;
}

/** The repository and commit recorded by `-buildvcs` (git only). */
function repoOfRevision(info: BuildInfo): { url: string; ref: string } | undefined {
  const rev = info.settings.get('vcs.revision');
  const url = repoFor(info.main.path);
  if (info.settings.get('vcs') !== 'git' || !rev || !REVISION.test(rev) || !url) return undefined;
  return { url, ref: rev };
}

/** Fetch one ref of a repository into `dir` (shallow), leaving no .git behind. */
async function gitFetch(s: GoSession, dir: string, url: string, ref: string | undefined): Promise<void> {
  if (ref === undefined) {
    const clone = ['git', 'clone', '--quiet', '--depth', '1', '--', url, dir];
    if ((await s.run(clone, { allowFail: true })).code !== 0) {
      await s.run(['rm', '-rf', '--', dir]);
      await s.run(clone.filter((a) => a !== '--depth' && a !== '1'));
    }
  } else {
    await s.run(['git', 'init', '--quiet', dir]);
    const git = (...args: string[]): string[] => ['git', '-C', dir, ...args];
    const shallow = await s.run(git('fetch', '--quiet', '--depth', '1', '--', url, ref), { allowFail: true });
    if (shallow.code === 0) await s.run(git('checkout', '--quiet', 'FETCH_HEAD'));
    else {
      // servers that refuse shallow or by-commit fetches (dumb http, uploadpack settings): all branches and tags
      await s.run(git('fetch', '--quiet', '--tags', '--', url, '+refs/heads/*:refs/remotes/origin/*'));
      const direct = await s.run(git('checkout', '--quiet', ref), { allowFail: true });
      if (direct.code !== 0) await s.run(git('checkout', '--quiet', `origin/${ref}`));
    }
  }
  await s.run(['rm', '-rf', '--', `${dir}/.git`]);
}

/** The directory of the clone whose go.mod declares `modulePath`. */
async function moduleDir(s: GoSession, root: string, modulePath: string): Promise<string> {
  const r = await s.run([
    'find',
    root,
    '-maxdepth',
    '6',
    '-name',
    'go.mod',
    '-type',
    'f',
    '-not',
    '-path',
    '*/vendor/*',
  ]);
  for (const file of r.stdout
    .split('\n')
    .filter(Boolean)
    .sort((a, b) => a.length - b.length)) {
    const text = (await s.read(file)) ?? '';
    const m = /^\s*module\s+"?([^\s"]+)"?/m.exec(text);
    if (m?.[1] === modulePath) return file.slice(0, -'/go.mod'.length);
  }
  throw new StepError(`the source has no go.mod for module ${modulePath}`);
}

/** Put the main module's source under `dir`; returns the module's directory and where it came from. */
export async function fetchSource(
  s: GoSession,
  info: BuildInfo,
  dir: string,
  vcsUrl: string | undefined,
): Promise<{ moduleDir: string; from: string }> {
  const main = info.main;
  if (isRelease(main.version)) {
    const r = await s.run(['go', 'mod', 'download', '-json', '--', `${main.path}@${main.version}`]);
    const got = JSON.parse(r.stdout) as { Dir?: string; Error?: string };
    if (!got.Dir)
      throw new StepError(`go mod download ${main.path}@${main.version}: ${got.Error ?? 'no Dir'}`);
    await s.run(['mkdir', '-p', dir]);
    await s.run(['cp', '-a', '--', `${got.Dir}/.`, dir]);
    await s.run(['chmod', '-R', 'u+w', '--', dir]);
    return { moduleDir: dir, from: `module proxy ${main.path}@${main.version}` };
  }
  const repo = vcsUrl ? parseVcsUrl(vcsUrl) : repoOfRevision(info);
  if (vcsUrl && !repo) throw new StepError(`--go-vcs-url ${vcsUrl} is not https://host/org/repo[@ref]`);
  if (!repo) {
    throw new StepError(
      `no source for ${main.path}@${main.version || '(devel)'}: not a released version and no vcs.revision (pass --go-vcs-url https://host/org/repo@ref)`,
    );
  }
  await gitFetch(s, dir, repo.url, repo.ref);
  const from = repo.ref === undefined ? repo.url : `${repo.url}@${repo.ref}`;
  return { moduleDir: await moduleDir(s, dir, main.path), from };
}
