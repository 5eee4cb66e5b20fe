/**
 * Node.js libraries (`node-pkg`): every reported copy in an app's node_modules (direct or transitive) or
 * in a global package is replaced by the registry tarball of the chosen version, fetched with `npm pack`
 * (the image's npm, else a node tooling image) and checked entry by entry before extraction.
 * README.md in this folder: the steps and how they differ from Copa.
 */
import type { LanguageContext, LanguageManager, LanguageResult } from '../types.js';
import type { UpdatePackage } from '../../report/types.js';
import type { Executor } from '../../engine/types.js';
import { missingDeps, packageDirs, planCopies, readManifest, under, type DirIndex } from './discover.js';
import { nameProblem, pickVersion } from './names.js';
import { globalRoots, normalizePath, placePackage, unknownBase } from './paths.js';
import * as s from './site.js';
import { apply, checkPacks, Problems, TYPE, uniqueSpecs, type Entry } from './steps.js';

async function patch(ctx: LanguageContext, updates: UpdatePackage[]): Promise<LanguageResult> {
  const problems = new Problems();
  const skipped: LanguageResult['skipped'] = [];
  let exec = ctx.exec();
  const byKey = new Map<string, { u: UpdatePackage; to: string }>();
  for (const u of updates) {
    const key = `${u.name}\0${u.pkgPath ?? ''}`;
    if (byKey.has(key) || problems.has(u)) continue;
    const bad = nameProblem(u.name);
    const to = pickVersion(u.fixedVersion);
    if (bad)
      problems.add(
        'PACKAGE_NAME',
        u,
        u.fixedVersion,
        `invalid npm package name ${JSON.stringify(u.name)}: ${bad}`,
      );
    else if (to === undefined)
      problems.add('REPORT', u, u.fixedVersion, `invalid version ${JSON.stringify(u.fixedVersion)}`);
    else byKey.set(key, { u, to });
  }
  problems.throwUnless(ctx.ignoreErrors);

  // global roots: the well-known ones and the image's NPM_CONFIG_PREFIX; npm is asked (`npm root -g`) only
  // when a report path lies in a node_modules that is neither under one of them nor in an app dir
  const userconfig = (await exec.readFile('/root/.npmrc')) ? '/root/.npmrc' : undefined;
  const roots = globalRoots(ctx.image.env);
  let unknown = false;
  for (const { u } of byKey.values()) {
    const base = unknownBase(u.pkgPath ?? '', roots);
    if (base !== undefined && !(await exec.readFile(`/${under(base, 'package.json')}`))) unknown = true;
  }
  if (unknown) {
    const probe = await exec
      .run(['npm', 'root', '-g'], { env: s.npmEnv({}, userconfig) })
      .catch(() => undefined);
    const npmRoot =
      probe?.code === 0 ? normalizePath(probe.stdout.trim().split('\n').pop() ?? '') : undefined;
    if (npmRoot && !roots.includes(npmRoot)) roots.push(npmRoot);
  }

  const entries: Entry[] = [];
  const walks = new Map<string, Promise<DirIndex>>();
  for (const { u, to } of byKey.values()) {
    const where = placePackage(u.pkgPath ?? '', u.name, roots);
    if ('skip' in where) {
      skipped.push({ name: u.name, path: u.pkgPath ?? '', reason: where.skip });
      continue;
    }
    const own = where.reported ? undefined : await readManifest(exec, where.scope);
    const plan =
      own?.name === u.name
        ? { copies: [], reason: 'the app itself, not a dependency' }
        : await planCopies(exec, where, u.name, to, await walk(walks, exec, where.scope));
    const first = plan.copies.find((c) => c.dir === where.reported) ?? plan.copies[0];
    if (!first) {
      skipped.push({ name: u.name, path: u.pkgPath ?? '', reason: plan.reason });
      continue;
    }
    const change = { type: TYPE, name: u.name, path: where.display, from: first.from, to };
    entries.push({ u, to, target: where, copies: plan.copies, change });
  }
  const result = (): LanguageResult => {
    const changes = entries.filter((e) => !problems.has(e.u)).map((e) => e.change);
    const unique = [...new Map(changes.map((c) => [JSON.stringify(c), c])).values()];
    return { changes: unique, failed: problems.list.map((p) => p.failure), skipped, excluded: [] };
  };
  if (ctx.dryRun || entries.length === 0) return result();

  // the image's npm when it runs (no separate probe: the first `npm pack` tells), else a tooling image's
  const specs = uniqueSpecs(entries);
  let site: s.Site = {
    exec,
    where: 'image',
    prefix: '',
    env: s.npmEnv(await ctx.toolEnv('image'), userconfig),
    onOutput: ctx.onOutput,
  };
  let scratch = s.scratchName();
  const cleanup = async () => {
    await s.mustRun(site, ['rm', '-rf', scratch]).catch(() => undefined);
  };
  try {
    ctx.signal.throwIfAborted();
    let run = await s.npmPack(site, scratch, specs);
    if ('npm' in run && !run.npm) {
      await cleanup();
      const images = s.toolingImages(ctx.image.env, ctx.image.history);
      ctx.logger.info(`No npm in the image: using a node tooling image (${images[0] ?? ''})`);
      exec = await ctx.withTooling(images, s.TOOLING_TARGET);
      const cfg = userconfig ? `${s.TOOLING_TARGET}${userconfig}` : undefined;
      site = {
        exec,
        where: 'tooling',
        prefix: s.TOOLING_TARGET,
        env: s.npmEnv(await ctx.toolEnv('tooling'), cfg),
        onOutput: ctx.onOutput,
      };
      scratch = s.scratchName();
      ctx.signal.throwIfAborted();
      run = await s.npmPack(site, scratch, specs);
    }
    const packs = await checkPacks(ctx, site, scratch, specs, run, entries, problems);
    for (const e of entries) {
      const p = packs.get(`${e.u.name}@${e.to}`);
      if (!p || problems.has(e.u)) continue;
      for (const c of e.copies) {
        const missing = await missingDeps(exec, c.dir, p.pkg.dependencies, p.pkg.optionalDependencies);
        if (missing.length > 0)
          problems.add(
            'PACKAGE_MANAGER',
            e.u,
            e.to,
            `${e.u.name}@${e.to} at /${c.dir}: ${missing.join(', ')}`,
            c.from,
          );
      }
    }
    problems.throwUnless(ctx.ignoreErrors);
    await apply(ctx, site, scratch, entries, packs, problems);
  } finally {
    await cleanup();
  }
  // beyond Copa: every replaced copy must now hold the chosen version
  for (const e of entries) {
    if (problems.has(e.u)) continue;
    for (const c of e.copies) {
      const v = (await readManifest(exec, c.dir))?.version;
      if (v !== e.to)
        problems.add(
          'VALIDATION',
          e.u,
          e.to,
          `/${c.dir} holds ${String(v)} after patching, not ${e.to}`,
          typeof v === 'string' ? v : null,
        );
    }
  }
  problems.throwUnless(ctx.ignoreErrors);
  return result();
}

/** One walk of each scope's node_modules trees for all entries of the scope. */
function walk(walks: Map<string, Promise<DirIndex>>, exec: Executor, scope: string): Promise<DirIndex> {
  let w = walks.get(scope);
  if (!w) walks.set(scope, (w = packageDirs(exec, scope)));
  return w;
}

export const nodeManager: LanguageManager = { name: 'node', types: [TYPE], patch };
