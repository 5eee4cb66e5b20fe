/**
 * Go libraries (`gobinary`, `gomod`): rebuild the binaries that embed a vulnerable module (preferred),
 * else update go.mod/go.sum of the module directories. Everything runs in the golang tooling image.
 */
import { CopaError, type ErrorCode } from '../../errors.js';
import type { UpdatePackage } from '../../report/types.js';
import type { LanguageContext, LanguageManager, LanguageResult } from '../types.js';
import { depVersion, type BuildInfo } from './buildinfo.js';
import { buildInfos, resolveInImage, scanCandidates } from './detect.js';
import { applyModule, MODULE_DIRS, moduleDirOf, planModule } from './gomod.js';
import { rebuild, type RebuildPlan } from './rebuild.js';
import { GOLANG_IMAGE, goEnvironment, GoSession, imagePath, SCRATCH, StepError, TARGET } from './session.js';
import {
  badModulePath,
  compareGo,
  compareToolchain,
  firstGoVersion,
  firstToolchain,
  isKubernetes,
} from './versions.js';

/** One validated report entry. */
interface Want {
  type: string;
  name: string;
  /** the report's pkgPath ('' when none) */
  path: string;
  version: string;
  toolchain?: [number, number, number];
}

type Plan = RebuildPlan & { wants: Array<Want & { from: string; at: string }> };

class Run {
  readonly res: LanguageResult = { changes: [], failed: [], skipped: [], excluded: [] };
  constructor(readonly ctx: LanguageContext) {}

  skip(w: { name: string; path: string }, reason: string): void {
    this.res.skipped.push({ name: w.name, path: w.path, reason });
    this.ctx.logger.info(`go library ${w.name} (${w.path || 'no path'}): ${reason}`);
  }

  fail(
    w: { type: string; name: string; path: string; version: string },
    reason: string,
    code: ErrorCode = 'PACKAGE_MANAGER',
    installed: string | null = null,
  ): void {
    if (!this.ctx.ignoreErrors) {
      throw new CopaError(code, `go library ${w.name} (${w.path || 'no path'}): ${reason}`, {
        hint: 'fix the cause, or pass --ignore-errors to keep the other Go updates',
      });
    }
    this.ctx.logger.warn(`go library ${w.name} (${w.path || 'no path'}) not patched: ${reason}`);
    this.res.failed.push({
      type: w.type,
      name: w.name,
      path: w.path,
      required: w.version,
      installed,
      reason,
    });
  }
}

function validate(run: Run, updates: UpdatePackage[]): Want[] {
  const out = new Map<string, Want>();
  for (const u of updates) {
    const base = { type: u.type ?? 'gobinary', name: u.name, path: u.pkgPath ?? '', version: u.fixedVersion };
    if (u.name === 'stdlib') {
      const t = firstToolchain(u.fixedVersion);
      if (!run.ctx.toolchainPatchLevel)
        run.skip(base, 'stdlib fixes need a newer Go toolchain (--toolchain-patch-level)');
      else if (!t) run.fail(base, `no Go version in ${JSON.stringify(u.fixedVersion)}`, 'REPORT');
      else out.set(`stdlib\0${base.path}`, { ...base, version: `go${t.join('.')}`, toolchain: t });
      continue;
    }
    if (isKubernetes(u.name)) {
      run.skip(base, 'k8s.io/kubernetes is not updated (as Copa)');
      continue;
    }
    const bad = badModulePath(u.name);
    const version = firstGoVersion(u.fixedVersion);
    if (bad) run.fail(base, `not a usable module path: ${bad}`, 'PACKAGE_NAME');
    else if (!version) run.fail(base, `no semver version in ${JSON.stringify(u.fixedVersion)}`, 'REPORT');
    else {
      const prev = out.get(`${u.name}\0${base.path}`);
      if (!prev || compareGo(prev.version, version) < 0)
        out.set(`${u.name}\0${base.path}`, { ...base, version });
    }
  }
  return [...out.values()];
}

/** Build info per image path: the report's paths first, the usual directories when some entry has none. */
async function findBinaries(
  s: GoSession,
  wants: Want[],
): Promise<Map<string, { file: string; info: BuildInfo }>> {
  const found = new Map<string, { file: string; info: BuildInfo }>();
  for (const p of new Set(wants.map((w) => w.path).filter(Boolean))) {
    const file = await resolveInImage(s, '/' + p.replace(/^\/+/, ''));
    const info = file ? (await buildInfos(s, [file]))[0] : undefined;
    if (file && info) found.set(imagePath(p), { file, info });
  }
  if (wants.some((w) => !w.path)) {
    for (const info of await buildInfos(s, await scanCandidates(s))) {
      found.set(imagePath(info.file), { file: info.file, info });
    }
  }
  return found;
}

function planBinaries(
  run: Run,
  wants: Want[],
  found: Map<string, { file: string; info: BuildInfo }>,
): { plans: Plan[]; notFound: Want[] } {
  const plans = new Map<string, Plan>();
  const notFound: Want[] = [];
  for (const w of wants) {
    const targets = w.path
      ? [...found].filter(([p]) => p === imagePath(w.path))
      : [...found].filter(([, b]) => w.toolchain || depVersion(b.info, w.name));
    if (targets.length === 0) {
      notFound.push(w);
      run.skip(
        w,
        w.path ? 'no Go binary with build info at this path' : 'no Go binary in the image embeds it',
      );
      continue;
    }
    for (const [at, { file, info }] of targets) {
      const plan: Plan = plans.get(at) ?? { file, info, deps: new Map<string, string>(), wants: [] };
      if (w.toolchain) {
        const built = firstToolchain(info.goVersion);
        if (built && compareToolchain(built, w.toolchain) >= 0) {
          run.skip(w, `built with ${info.goVersion} already`);
          continue;
        }
        if (!plan.toolchain || compareToolchain(plan.toolchain, w.toolchain) < 0)
          plan.toolchain = w.toolchain;
        plan.wants.push({ ...w, from: info.goVersion, at });
      } else {
        const d = depVersion(info, w.name);
        const cur = d ? (d.replace ? d.replace.version : d.version) : undefined;
        if (w.name === info.main.path) run.skip(w, 'the main module itself: needs a new release of it');
        else if (!d) run.skip(w, `${at} does not embed this module`);
        else if (!cur)
          run.fail(w, `replaced by the local directory ${d.replace?.path ?? ''}: cannot be upgraded`);
        else if (compareGo(cur, w.version) >= 0) run.skip(w, `already at ${cur}`);
        else {
          const prev = plan.deps.get(w.name);
          if (!prev || compareGo(prev, w.version) < 0) plan.deps.set(w.name, w.version);
          plan.wants.push({ ...w, from: cur, at });
        }
      }
      if (plan.wants.length > 0) plans.set(at, plan);
    }
  }
  return { plans: [...plans.values()], notFound };
}

async function rebuildAll(run: Run, s: GoSession, plans: Plan[]): Promise<number> {
  let rebuilt = 0;
  for (const [i, plan] of plans.entries()) {
    const work = `${SCRATCH}/b${i}`;
    const changed = (w: Plan['wants'][number], to: string): void => {
      run.res.changes.push({ type: w.type, name: w.name, path: w.path || w.at.slice(1), from: w.from, to });
    };
    if (run.ctx.dryRun) {
      for (const w of plan.wants) changed(w, w.version);
      continue;
    }
    try {
      const after = await rebuild(s, plan, work);
      rebuilt++;
      for (const w of plan.wants) {
        const d = depVersion(after, w.name);
        changed(w, w.toolchain ? after.goVersion : d?.replace?.version || d?.version || w.version);
      }
    } catch (e) {
      if (!(e instanceof StepError)) throw e;
      for (const w of plan.wants)
        run.fail(
          w,
          `rebuilding ${w.at}: ${e.message}`,
          /differs/.test(e.message) ? 'VALIDATION' : 'PACKAGE_MANAGER',
          w.from,
        );
    } finally {
      await s.run(['rm', '-rf', '--', work], { allowFail: true });
    }
  }
  return rebuilt;
}

async function patchModules(run: Run, s: GoSession, wants: Want[]): Promise<void> {
  const byDir = new Map<string, Want[]>();
  const defaults: string[] = [];
  for (const d of MODULE_DIRS) if (await s.read(`${TARGET}${d}/go.mod`)) defaults.push(d);
  for (const w of wants) {
    const dirs = w.type === 'gomod' && w.path ? [moduleDirOf(w.path)] : defaults;
    if (dirs.length === 0) run.skip(w, 'no go.mod found in the module directories');
    for (const d of dirs) byDir.set(d, [...(byDir.get(d) ?? []), w]);
  }
  for (const [dir, ws] of byDir) {
    const wanted = new Map(ws.map((w) => [w.name, w.version]));
    const p = await planModule(s, dir, wanted);
    const rel = `${dir.slice(1)}/go.mod`.replace(/^\//, '');
    for (const w of ws) {
      if (p.missing) run.skip(w, `${dir}/go.mod does not exist`);
      else if (p.absent.includes(w.name)) run.skip(w, `not required by ${dir}/go.mod`);
      else if (p.current.includes(w.name)) run.skip(w, `${dir}/go.mod already requires a fixed version`);
    }
    if (p.items.length === 0) continue;
    const wantsOf = (name: string): Want[] => ws.filter((w) => w.name === name);
    const record = (name: string, from: string, to: string): void => {
      run.res.changes.push({ type: 'gomod', name, path: rel, from, to });
    };
    if (run.ctx.dryRun) {
      for (const i of p.items) record(i.name, i.from, i.to);
      continue;
    }
    run.ctx.logger.info(`Updating ${dir}/go.mod (this does not change compiled binaries)`);
    try {
      const after = await applyModule(s, dir, p.items);
      for (const i of p.items) {
        const now = after.get(i.name);
        if (now && compareGo(now, i.to) >= 0) record(i.name, i.from, now);
        else
          for (const w of wantsOf(i.name))
            run.fail(w, `${dir}/go.mod requires ${now ?? 'nothing'} after go get`, 'VALIDATION', now ?? null);
      }
    } catch (e) {
      if (!(e instanceof StepError)) throw e;
      for (const i of p.items)
        for (const w of wantsOf(i.name)) run.fail(w, e.message, 'PACKAGE_MANAGER', i.from);
    }
  }
}

async function patch(ctx: LanguageContext, updates: UpdatePackage[]): Promise<LanguageResult> {
  const run = new Run(ctx);
  const wants = validate(run, updates);
  if (wants.length === 0) return run.res;
  const exec = await ctx.withTooling([GOLANG_IMAGE], TARGET);
  const s = new GoSession(ctx, exec, goEnvironment(ctx.image.env, await ctx.toolEnv('tooling')));
  const v = await s.run(['go', 'version'], { allowFail: true });
  if (v.code !== 0) {
    throw new CopaError('ENVIRONMENT', `the Go tooling image has no working go command: ${v.stderr.trim()}`, {
      hint: `map ${GOLANG_IMAGE} to an image with Go in /usr/local/go/bin (COPA_TOOLING_IMAGE_MAP)`,
    });
  }
  await s.run(['mkdir', '-p', `${SCRATCH}/home`]);
  try {
    const binWants = wants.filter((w) => w.type === 'gobinary' || w.toolchain);
    const modWants = wants.filter((w) => w.type !== 'gobinary' && !w.toolchain);
    const found =
      binWants.length > 0
        ? await findBinaries(s, binWants)
        : new Map<string, { file: string; info: BuildInfo }>();
    const { plans, notFound } = planBinaries(run, binWants, found);
    const rebuilt = await rebuildAll(run, s, plans);
    // Copa's fallback: nothing could be rebuilt → the binaries' modules are updated in go.mod instead
    const fallback = (ctx.dryRun ? plans.length : rebuilt) === 0 ? notFound.filter((w) => !w.toolchain) : [];
    if (modWants.length + fallback.length > 0) await patchModules(run, s, [...modWants, ...fallback]);
  } finally {
    await s.run(['rm', '-rf', '--', SCRATCH], { allowFail: true });
  }
  return run.res;
}

export const goManager: LanguageManager = { name: 'go', types: ['gobinary', 'gomod'], patch };
