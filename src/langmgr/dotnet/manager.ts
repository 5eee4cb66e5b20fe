/**
 * .NET (`dotnet-core`) libraries, as Copa does it (COPA-BEHAVIOUR §7.4): find the app's deps.json, restore and
 * publish the fixed packages with the SDK image of the app's framework, copy the published DLLs over the
 * app's DLLs of the same name, rewrite the deps.json entries. See README.md for the differences.
 */
import { sandboxEnv } from '../../engine/env.js';
import type { Executor } from '../../engine/types.js';
import { CopaError, type ErrorCode } from '../../errors.js';
import type { UpdatePackage } from '../../report/types.js';
import type { LanguageContext, LanguageManager, LanguageResult } from '../types.js';
import { findLibrary, formatDepsJson, parseDepsJson, updateDepsJson } from './depsjson.js';
import { findApp, type DotnetApp } from './find.js';
import {
  OUT_DIR,
  PROJECT_DIR,
  publishedPackage,
  runPublish,
  sdkEnv,
  sdkImage,
  TARGET,
  type Planned,
} from './project.js';
import { planSwap, runSwap, writeImageFile } from './swap.js';
import { validateSwap } from './validate.js';
import { compareVersions, validName, validVersion } from './version.js';

const TYPE = 'dotnet-core';
const HINTS: Partial<Record<ErrorCode, string>> = {
  PACKAGE_NAME:
    'the report names a package or version NuGet would not accept; fix the report or pass --ignore-errors',
  PACKAGE_MANAGER:
    "check that NuGet (or the feed of the app's NuGet.Config) is reachable and has the version; --ignore-errors keeps the other packages",
  VALIDATION: 'the app was left partly patched; --ignore-errors accepts the packages that did update',
};

export async function patchDotnet(ctx: LanguageContext, updates: UpdatePackage[]): Promise<LanguageResult> {
  const out: LanguageResult = { changes: [], failed: [], skipped: [], excluded: [] };
  const fail = (
    code: ErrorCode,
    name: string,
    path: string,
    required: string,
    installed: string | null,
    reason: string,
  ): void => {
    if (!ctx.ignoreErrors)
      throw new CopaError(code, `.NET package ${name}: ${reason}`, { hint: HINTS[code] ?? '' });
    ctx.logger.warn(`.NET package ${name} not patched (ignored: --ignore-errors): ${reason}`);
    out.failed.push({ type: TYPE, name, path, required, installed, reason });
  };

  // report data is untrusted: names and versions checked before any use; one target version per package
  const wanted = new Map<string, UpdatePackage>();
  for (const u of updates) {
    if (!validName(u.name) || !validVersion(u.fixedVersion)) {
      const what = validName(u.name) ? `version ${JSON.stringify(u.fixedVersion)}` : 'name';
      fail(
        'PACKAGE_NAME',
        JSON.stringify(u.name),
        u.pkgPath ?? '',
        u.fixedVersion,
        null,
        `invalid NuGet ${what}`,
      );
      continue;
    }
    const prev = wanted.get(u.name.toLowerCase());
    if (!prev || compareVersions(u.fixedVersion, prev.fixedVersion) > 0) wanted.set(u.name.toLowerCase(), u);
  }
  if (wanted.size === 0) return out;

  let app: DotnetApp | undefined;
  try {
    app = await findApp(ctx.exec(), [
      ...new Set(updates.map((u) => u.pkgPath ?? '').filter((p) => p !== '')),
    ]);
  } catch (e) {
    for (const u of wanted.values())
      fail('PACKAGE_MANAGER', u.name, u.pkgPath ?? '', u.fixedVersion, null, (e as Error).message);
    return out;
  }
  if (!app) {
    for (const u of wanted.values()) {
      out.skipped.push({
        name: u.name,
        path: u.pkgPath ?? '',
        reason: 'no *.deps.json in the image (outside SDK, NuGet cache and temp dirs)',
      });
    }
    return out;
  }

  const planned: Planned[] = [];
  for (const u of wanted.values()) {
    const lib = findLibrary(app.deps, u.name);
    if (!lib) out.skipped.push({ name: u.name, path: app.appDir, reason: `not listed in ${app.depsPath}` });
    else if (compareVersions(lib.version, u.fixedVersion) >= 0) {
      out.skipped.push({
        name: lib.name,
        path: app.appDir,
        reason: `already at ${lib.version} (fix ${u.fixedVersion})`,
      });
    } else planned.push({ name: lib.name, from: lib.version, to: u.fixedVersion });
  }
  const change = (p: Planned) => ({ type: TYPE, name: p.name, path: app.appDir, from: p.from, to: p.to });
  if (ctx.dryRun || planned.length === 0) {
    out.changes.push(...planned.map(change));
    return out;
  }

  const image = sdkImage(app.framework);
  ctx.logger.info(
    `.NET app ${app.depsPath} (framework ${app.framework}): ${planned.length} package(s) through ${image}`,
  );
  const exec = await ctx.withTooling([image], TARGET);
  const env = sandboxEnv({ ...(await ctx.toolEnv('tooling')), ...sdkEnv() });
  const before = new Set(app.files);
  const groups = await patchGroup(ctx, exec, env, app, planned);
  for (const g of groups) {
    if (g.ok) out.changes.push(change(g.p));
    else fail(g.code, g.p.name, app.appDir, g.p.to, g.installed, g.reason);
  }
  // hygiene: nothing but the swapped files may appear in the app dir (no obj/, bin/, caches)
  for (const n of (await exec.list(app.appDir)) ?? []) {
    if (!before.has(n) && n !== 'runtimes') out.excluded.push(`${app.appDir}/${n}`);
  }
  return out;
}

type Outcome =
  | { ok: true; p: Planned }
  | { ok: false; p: Planned; code: ErrorCode; installed: string | null; reason: string };

/** Publish a set of packages and swap them in; with --ignore-errors a failed publish is retried one package at a time. */
async function patchGroup(
  ctx: LanguageContext,
  exec: Executor,
  env: Record<string, string>,
  app: DotnetApp,
  planned: Planned[],
): Promise<Outcome[]> {
  await exec.run(['rm', '-rf', '--', PROJECT_DIR, OUT_DIR], { in: 'tooling', env });
  const r = await runPublish(exec, app.framework, planned, app.appDir, app.files, env, ctx.onOutput);
  if (r.code !== 0) {
    if (ctx.ignoreErrors && planned.length > 1) {
      ctx.logger.warn(`dotnet restore/publish of ${planned.length} packages failed; retrying one at a time`);
      const all: Outcome[] = [];
      for (const p of planned) all.push(...(await patchGroup(ctx, exec, env, app, [p])));
      return all;
    }
    return planned.map((p) => ({
      ok: false,
      p,
      code: 'PACKAGE_MANAGER',
      installed: p.from,
      reason: r.stderr,
    }));
  }
  const outcomes: Outcome[] = [];
  const pubText = (await exec.readFile(`${OUT_DIR}/patch.deps.json`, 'tooling'))?.toString('utf8') ?? '';
  const pub = parseDepsJson(pubText === '' ? '{}' : pubText);
  const pkgs: Array<{
    name: string;
    from: string;
    to: string;
    pub: NonNullable<ReturnType<typeof publishedPackage>>;
  }> = [];
  for (const p of planned) {
    const found = publishedPackage(pub, p.name);
    if (!found || compareVersions(found.version, p.to) < 0) {
      const reason = `the publish output has ${found ? `${found.name}/${found.version}` : 'no entry'}, not ${p.to}`;
      outcomes.push({ ok: false, p, code: 'PACKAGE_MANAGER', installed: p.from, reason });
    } else pkgs.push({ name: p.name, from: p.from, to: p.to, pub: found });
  }
  const outPaths = await publishedPaths(
    exec,
    pkgs.map((x) => x.pub),
  );
  const deps = parseDepsJson((await exec.readFile(app.depsPath))?.toString('utf8') ?? '');
  const plan = planSwap({ appDir: app.appDir, appFiles: app.files, deps, outDir: OUT_DIR, outPaths }, pkgs);
  for (const n of plan.depsOnly)
    ctx.logger.info(`${n}: no DLL of it in ${app.appDir} (the shared framework's is used): deps.json only`);
  const broken = await runSwap(exec, plan.steps, TARGET, env);
  for (const s of plan.stale)
    if (!broken.has(s.name)) broken.set(s.name, `${s.file} has no replacement in the publish output`);
  const good = plan.patched.filter((p) => !broken.has(p.name));
  await writeImageFile(exec, app.depsPath, formatDepsJson(updateDepsJson(deps, good)), TARGET, env);
  const bad = await validateSwap(exec, app.depsPath, good, plan.steps);
  for (const x of pkgs) {
    const done = { name: x.name, from: x.from, to: x.pub.version };
    const why = broken.get(x.name);
    const v = bad.get(x.name);
    if (why) outcomes.push({ ok: false, p: done, code: 'VALIDATION', installed: x.from, reason: why });
    else if (v)
      outcomes.push({ ok: false, p: done, code: 'VALIDATION', installed: v.installed, reason: v.reason });
    else outcomes.push({ ok: true, p: done });
  }
  return outcomes;
}

/** top-level names of the publish output plus the runtimes/... files of these packages that exist there */
async function publishedPaths(
  exec: Executor,
  pubs: ReadonlyArray<{ runtimeTargets: Record<string, unknown> }>,
): Promise<Set<string>> {
  const paths = new Set((await exec.list(OUT_DIR, 'tooling')) ?? []);
  const dirs = new Map<string, Set<string>>();
  for (const k of pubs.flatMap((p) => Object.keys(p.runtimeTargets))) {
    const i = k.lastIndexOf('/');
    const dir = k.slice(0, i);
    if (!dirs.has(dir)) dirs.set(dir, new Set((await exec.list(`${OUT_DIR}/${dir}`, 'tooling')) ?? []));
    if (dirs.get(dir)?.has(k.slice(i + 1))) paths.add(k);
  }
  return paths;
}

export const dotnetManager: LanguageManager = { name: 'dotnet', types: [TYPE], patch: patchDotnet };
