/**
 * Node.js libraries (`node-pkg`): every reported copy in an app's node_modules (direct or transitive) or
 * in a global package is replaced by the registry tarball of the chosen version, fetched with `npm pack`
 * (the image's npm, else a node tooling image) and checked entry by entry before extraction.
 * README.md in this folder: the steps and how they differ from Copa.
 */
import { createHash } from 'node:crypto';
import { CopaError, type ErrorCode } from '../../errors.js';
import type {
  LanguageContext,
  LanguageManager,
  LanguageResult,
  LibraryChange,
  LibraryFailure,
} from '../types.js';
import type { UpdatePackage } from '../../report/types.js';
import type { Executor } from '../../engine/types.js';
import {
  missingDeps,
  packageDirs,
  planCopies,
  readManifest,
  under,
  type Copy,
  type DirIndex,
} from './discover.js';
import { editLockfile, type LockEdit } from './lockfile.js';
import { nameProblem, pickVersion } from './names.js';
import { globalRoots, normalizePath, placePackage, unknownBase, type Target } from './paths.js';
import * as s from './site.js';
import { inspectTarball, type PackedPackage } from './tarball.js';

const TYPE = 'node-pkg';
const LOCKS = ['package-lock.json', 'npm-shrinkwrap.json', 'node_modules/.package-lock.json'];

interface Entry {
  u: UpdatePackage;
  to: string;
  target: Target;
  copies: Copy[];
  change: LibraryChange;
}

interface Packed {
  file: string;
  pkg: PackedPackage;
  integrity: string;
}

class Problems {
  readonly list: Array<{ code: ErrorCode; failure: LibraryFailure }> = [];
  add(code: ErrorCode, u: UpdatePackage, required: string, reason: string, installed: string | null = null) {
    const failure = { type: TYPE, name: u.name, path: u.pkgPath ?? '', required, installed, reason };
    this.list.push({ code, failure });
  }
  has(u: UpdatePackage): boolean {
    return this.list.some((p) => p.failure.name === u.name && p.failure.path === (u.pkgPath ?? ''));
  }
  /** without --ignore-errors: one error naming every failure */
  throwUnless(ignore: boolean): void {
    const first = this.list[0];
    if (ignore || !first) return;
    const what = this.list.map((p) => `${p.failure.name} (${p.failure.path || '?'}): ${p.failure.reason}`);
    throw new CopaError(
      first.code,
      `node libraries not patched: ${what.join('; ')}`.replace(/\s*\n\s*/g, ' '),
      {
        hint: 'check the versions in the report against the registry, or pass --ignore-errors to patch the rest',
      },
    );
  }
}

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

/** Each name@version once, in the order of the entries. */
function uniqueSpecs(entries: Entry[]): s.Spec[] {
  const out = new Map<string, s.Spec>();
  for (const e of entries) out.set(`${e.u.name}@${e.to}`, { name: e.u.name, version: e.to });
  return [...out.values()];
}

/**
 * The tarballs of one `npm pack` run for every spec; when that run fails (a version the registry lacks, …),
 * each spec is packed on its own, so that the error names its package and the others still go through.
 * Every tarball is read back and checked.
 */
async function checkPacks(
  ctx: LanguageContext,
  site: s.Site,
  scratch: string,
  specs: s.Spec[],
  run: s.PackRun,
  entries: Entry[],
  problems: Problems,
) {
  const results: Array<{ file: string } | { error: string }> = [];
  if ('files' in run) results.push(...run.files);
  else if (specs.length === 1) results.push(run);
  else {
    ctx.logger.info(`npm pack of ${specs.length} packages failed: packing them one by one`);
    for (const spec of specs) {
      ctx.signal.throwIfAborted();
      const one = await s.npmPack(site, scratch, [spec]);
      results.push('files' in one ? (one.files[0] ?? { error: 'no result' }) : one);
    }
  }
  const packs = new Map<string, Packed>();
  const failed = new Map<string, string>();
  for (const [i, spec] of specs.entries()) {
    const key = `${spec.name}@${spec.version}`;
    const r = results[i] ?? { error: 'no result' };
    if ('error' in r) {
      failed.set(key, `npm pack ${key}: ${r.error}`);
      continue;
    }
    const buf = await site.exec.readFile(r.file, site.where);
    try {
      if (!buf) throw new Error(`${r.file} not readable`);
      const pkg = await inspectTarball(buf);
      if (pkg.name !== spec.name || pkg.version !== spec.version)
        throw new Error(`tarball holds ${pkg.name}@${pkg.version}`);
      packs.set(key, {
        file: r.file,
        pkg,
        integrity: `sha512-${createHash('sha512').update(buf).digest('base64')}`,
      });
    } catch (err) {
      failed.set(key, `${key} tarball refused: ${(err as Error).message}`);
    }
  }
  for (const e of entries) {
    const why = failed.get(`${e.u.name}@${e.to}`);
    if (why) problems.add(why.startsWith('npm pack') ? 'PACKAGE_MANAGER' : 'UNSAFE_LAYER', e.u, e.to, why);
  }
  return packs;
}

/** Replace every planned copy, then bring the app's lock files along. */
async function apply(
  ctx: LanguageContext,
  site: s.Site,
  scratch: string,
  entries: Entry[],
  packs: Map<string, Packed>,
  problems: Problems,
) {
  const jobs: Array<{ e: Entry; c: Copy; p: Packed }> = [];
  const seen = new Set<string>();
  for (const e of entries) {
    const p = packs.get(`${e.u.name}@${e.to}`);
    if (!p || problems.has(e.u)) continue;
    for (const c of e.copies) {
      if (seen.has(c.dir)) continue;
      seen.add(c.dir);
      jobs.push({ e, c, p });
    }
  }
  ctx.signal.throwIfAborted();
  const outcome = await s
    .replacePackages(
      site,
      `${scratch}/stage`,
      jobs.map(({ c, p }) => ({ tgz: p.file, dir: c.dir, bins: p.pkg.bin })),
    )
    .catch((err: unknown) => jobs.map(() => (err as Error).message));
  const done = new Map<string, { scope: string; edit?: LockEdit }>();
  for (const [i, { e, c, p }] of jobs.entries()) {
    const why = outcome[i];
    if (why !== undefined) {
      problems.add('PACKAGE_MANAGER', e.u, e.to, `replacing /${c.dir}: ${why}`, c.from);
      continue;
    }
    ctx.logger.info(`node: /${c.dir} ${c.from} -> ${e.to}`);
    const rel = e.target.scope === '' ? c.dir : c.dir.slice(e.target.scope.length + 1);
    const edit = { rel, from: c.from, to: e.to, integrity: p.integrity, dependencies: p.pkg.dependencies };
    done.set(c.dir, { scope: e.target.scope, ...(e.target.kind === 'app' ? { edit } : {}) });
  }
  const scopes = new Set([...done.values()].filter((d) => d.edit).map((d) => d.scope));
  for (const scope of scopes) {
    const edits = [...done.values()].flatMap((d) => (d.scope === scope && d.edit ? [d.edit] : []));
    for (const lock of LOCKS) {
      const text = (await site.exec.readFile(`/${under(scope, lock)}`))?.toString();
      const next = text === undefined ? undefined : editLockfile(text, edits);
      if (next !== undefined) await s.writeText(site, under(scope, lock), next);
    }
  }
}

export const nodeManager: LanguageManager = { name: 'node', types: [TYPE], patch };
