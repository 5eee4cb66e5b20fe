/**
 * Rebuild one Go binary with newer dependencies and put it where the old one was.
 * The main module keeps its path and released version: the patched source is committed to a fresh git
 * repository tagged with that version, and `go build -buildvcs=true` stamps the version from the tag.
 */
import { buildArgs, depVersion, parseGoVersionM, reproducedSettings, type BuildInfo } from './buildinfo.js';
import { fileOwner } from './detect.js';
import { fetchSource } from './source.js';
import { StepError, type GoSession } from './session.js';
import { compareGo, compareToolchain, isRelease, toolchain } from './versions.js';

export interface RebuildPlan {
  /** tooling-root path of the binary (resolved) */
  file: string;
  info: BuildInfo;
  /** module → chosen version (`go get` arguments) */
  deps: Map<string, string>;
  /** required toolchain (stdlib fixes), e.g. [1, 22, 4] */
  toolchain?: [number, number, number] | undefined;
}

/** The main package relative to the module root (`.` or `./cmd/x`). */
export function packageDir(info: BuildInfo): string {
  if (info.path === info.main.path) return '.';
  if (info.path.startsWith(`${info.main.path}/`)) return `./${info.path.slice(info.main.path.length + 1)}`;
  throw new StepError(`main package ${info.path || '(none)'} is not inside module ${info.main.path}`);
}

/** `go get`/`go mod edit` arguments: a replaced module is re-pointed, others upgraded. */
export function getArgs(info: BuildInfo, deps: Map<string, string>): { get: string[]; replace: string[] } {
  const get: string[] = [];
  const replace: string[] = [];
  for (const [name, version] of deps) {
    const d = depVersion(info, name);
    if (d?.replace) {
      if (!d.replace.version)
        throw new StepError(`${name} is replaced by the local directory ${d.replace.path}`);
      replace.push(`-replace=${d.path}=${d.replace.path}@${version}`);
    } else get.push(`${name}@${version}`);
  }
  return { get, replace };
}

/** What differs between the planned result and a rebuilt binary's build info (empty: all good). */
export function checkRebuilt(plan: RebuildPlan, after: BuildInfo): string[] {
  const bad: string[] = [];
  const before = plan.info;
  if (after.main.path !== before.main.path)
    bad.push(`main module ${after.main.path} (was ${before.main.path})`);
  if (isRelease(before.main.version) && after.main.version !== before.main.version) {
    const why = after.main.version === '(devel)' ? ' (stamping it from a git tag needs Go >= 1.24)' : '';
    bad.push(`main module version ${after.main.version} (was ${before.main.version})${why}`);
  }
  if (after.path !== before.path) bad.push(`package ${after.path} (was ${before.path})`);
  for (const [name, want] of plan.deps) {
    const d = depVersion(after, name);
    const got = d?.replace?.version || d?.version;
    if (!got || compareGo(got, want) < 0) bad.push(`${name} ${got ?? 'missing'} (wanted >= ${want})`);
  }
  const was = reproducedSettings(before);
  const now = reproducedSettings(after);
  for (const [k, v] of was)
    if (now.get(k) !== v) bad.push(`build setting ${k}=${now.get(k) ?? '(unset)'} (was ${v})`);
  if (plan.toolchain) {
    const t = toolchain(after.goVersion);
    if (!t || compareToolchain(t, plan.toolchain) < 0)
      bad.push(`toolchain ${after.goVersion} (wanted >= go${plan.toolchain.join('.')})`);
  }
  return bad;
}

/** Whether an ELF file's program interpreter is musl's (PT_INTERP sits in the first pages). */
async function linksMusl(s: GoSession, file: string): Promise<boolean> {
  const head = await s.run(['head', '-c', '8192', '--', file], { allowFail: true });
  return head.stdout.includes('/ld-musl-');
}

/** Source → go get → tidy if needed → vendor → tagged commit → go build → check → install. */
export async function rebuild(s: GoSession, plan: RebuildPlan, work: string): Promise<BuildInfo> {
  const { info } = plan;
  const pkg = packageDir(info);
  if (info.settings.get('CGO_ENABLED') === '1' && (await linksMusl(s, plan.file))) {
    throw new StepError('a cgo binary linked against musl cannot be rebuilt in the glibc golang:1 image');
  }
  const { moduleDir, from } = await fetchSource(s, info, `${work}/src`, s.ctx.goVcsUrl);
  s.ctx.logger.info(`Rebuilding ${info.main.path} (${info.path}) from ${from}`);
  const go = (...args: string[]): string[] => ['go', '-C', moduleDir, ...args];
  const env: Record<string, string> = {};
  const local = toolchain((await s.run(['go', 'env', 'GOVERSION'])).stdout);
  if (plan.toolchain && (!local || compareToolchain(local, plan.toolchain) < 0)) {
    env.GOTOOLCHAIN = `go${plan.toolchain.join('.')}+auto`;
  }
  const { get, replace } = getArgs(info, plan.deps);
  if (replace.length > 0) await s.run(go('mod', 'edit', ...replace), { env });
  if (get.length > 0) await s.run(go('get', ...get), { env });
  const vendored = (await s.run(['test', '-d', `${moduleDir}/vendor`], { allowFail: true })).code === 0;
  const sync = async (): Promise<void> => {
    if (vendored) await s.run(go('mod', 'vendor'), { env });
  };
  await sync();
  // `go mod tidy -e` only when the module no longer lists what the package needs
  if ((await s.run(go('list', '-deps', pkg), { env, allowFail: true })).code !== 0) {
    await s.run(go('mod', 'tidy', '-e'), { env });
    await sync();
  }
  // a clean repository whose HEAD carries the released version: go stamps it as the main module's version
  const git = (...args: string[]): string[] => ['git', '-C', moduleDir, ...args];
  const when = info.settings.get('vcs.time');
  const dates: Record<string, string> = when ? { GIT_AUTHOR_DATE: when, GIT_COMMITTER_DATE: when } : {};
  await s.run(git('init', '--quiet'));
  await s.run(git('add', '-A'));
  await s.run(
    git(
      '-c',
      'user.name=copa',
      '-c',
      'user.email=copa@localhost',
      '-c',
      'commit.gpgsign=false',
      'commit',
      '--quiet',
      '--no-verify',
      '-m',
      'copa: patched dependencies',
    ),
    { env: dates },
  );
  if (isRelease(info.main.version))
    await s.run(git('-c', 'tag.gpgsign=false', 'tag', info.main.version.replace(/\+incompatible$/, '')));
  const out = `${work}/out`;
  const { flags, env: buildEnv } = buildArgs(info);
  await s.run(go('build', '-buildvcs=true', '-o', out, ...flags, pkg), { env: { ...env, ...buildEnv } });
  const after = parseGoVersionM((await s.run(['go', 'version', '-m', out])).stdout)[0];
  if (!after) throw new StepError(`the rebuilt binary has no Go build info`);
  const bad = checkRebuilt(plan, after);
  if (bad.length > 0) throw new StepError(`the rebuilt binary differs: ${bad.join('; ')}`);
  // same place, same owner; setuid/setgid/sticky dropped as Copa does
  const owner = await fileOwner(s, plan.file);
  await s.run(['cp', '--no-preserve=all', '--', out, plan.file]);
  await s.run(['chown', `${owner.uid}:${owner.gid}`, '--', plan.file]);
  await s.run(['chmod', (owner.mode & 0o777).toString(8), '--', plan.file]);
  return after;
}
