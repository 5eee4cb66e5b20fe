/**
 * The Python (`python-pkg`) library manager: pip in the image's own environment where it has one, else
 * a python:X.Y-slim tooling image that installs the fixed release and swaps the files in the exact
 * site-packages dir. Every target is validated against its dist-info afterwards (PEP 440 equality).
 */
import { gte } from '@renovatebot/pep440';
import { CopaError } from '../../errors.js';
import type { LanguageContext, LanguageManager, LanguageResult } from '../types.js';
import { metaEntriesFor, parseMetaDirName } from './paths.js';
import { PIP_FLAGS, pipEnv, runPip } from './pip.js';
import { planTargets, type Target } from './plan.js';
import { change, fail, spec, validate } from './result.js';
import { findPython, pythonCandidates } from './site.js';
import { viaTooling } from './tooling.js';

/** pip of the environment, all targets at once; with --ignore-errors a failed batch is retried one by one. */
async function pipDirect(
  ctx: LanguageContext,
  base: string[],
  env: Record<string, string>,
  ts: Target[],
  out: LanguageResult,
): Promise<void> {
  const exec = ctx.exec();
  const install = (batch: Target[]) =>
    runPip(exec, [...base, ...batch.map(spec)], env, ctx.indexes, { onOutput: ctx.onOutput });
  const r = await install(ts);
  if (r.ok) {
    for (const t of ts) await validate(exec, t, out);
    return;
  }
  if (!ctx.ignoreErrors || ts.length === 1) {
    // the entries pip names in its error first: they are the ones the message is about
    const named = (t: Target) => r.error.toLowerCase().includes(spec(t).toLowerCase());
    for (const t of [...ts.filter(named), ...ts.filter((t) => !named(t))]) {
      fail(
        out,
        t,
        t.from,
        named(t) || ts.length === 1
          ? `pip install failed: ${r.error}`
          : 'not installed: pip failed on another package',
      );
    }
    return;
  }
  for (const t of ts) {
    const one = await install([t]);
    if (one.ok) await validate(exec, t, out);
    else fail(out, t, t.from, `pip install failed: ${one.error}`);
  }
}

/** Vendored copies: best effort `pip install --upgrade <parent>`, then look at the copy again. */
async function pipVendored(
  ctx: LanguageContext,
  base: string[],
  env: Record<string, string>,
  ts: Target[],
  out: LanguageResult,
): Promise<void> {
  const exec = ctx.exec();
  for (const t of ts) {
    const parent = t.loc.vendoredIn ?? '';
    const meta = t.loc.vendoredMeta ?? '';
    const owner = metaEntriesFor((await exec.list(t.loc.site, 'image')) ?? [], parent)[0];
    const dist = owner ? parseMetaDirName(owner)?.name : undefined;
    const skip = (why: string) =>
      out.skipped.push({ name: t.name, path: t.pkgPath, reason: `vendored inside ${parent}: ${why}` });
    if (!dist) {
      skip('no installed distribution of that name to upgrade');
      continue;
    }
    const r = await runPip(exec, [...base, '--upgrade', dist], env, ctx.indexes, { onOutput: ctx.onOutput });
    if (!r.ok) {
      skip(`pip install --upgrade ${dist} failed: ${r.error}`);
      continue;
    }
    const dir = `${t.loc.site}/${meta.slice(0, meta.lastIndexOf('/'))}`;
    const copies = metaEntriesFor((await exec.list(dir, 'image')) ?? [], t.name).map(
      (e) => parseMetaDirName(e)?.version ?? '',
    );
    const fixed = copies.find((v) => v !== '' && gte(v, t.version));
    if (fixed) out.changes.push(change(t, fixed));
    else skip(`upgrading ${dist} did not bring ${t.name} ${t.version} (now: ${copies.join(', ') || 'none'})`);
  }
}

/** Targets of one site-packages dir, with the Python that owns it; returns those that need a tooling image. */
async function inImage(ctx: LanguageContext, group: Target[], out: LanguageResult): Promise<Target[]> {
  const loc = group[0]!.loc;
  const toolEnv = await ctx.toolEnv('image');
  const py = await findPython(
    ctx.exec(),
    loc.site,
    pythonCandidates(loc.prefix, loc.pyVersion),
    pipEnv(toolEnv),
  );
  const direct = group.filter((t) => t.loc.vendoredIn === undefined);
  const vendored = group.filter((t) => t.loc.vendoredIn !== undefined);
  if (!py?.pip) {
    for (const t of vendored) {
      out.skipped.push({
        name: t.name,
        path: t.pkgPath,
        reason: `vendored inside ${t.loc.vendoredIn}: no pip in that environment`,
      });
    }
    if (direct.length > 0) ctx.logger.info(`No pip for ${loc.site}: using a python tooling image`);
    return direct;
  }
  // PEP 668: a system Python marked externally managed refuses pip unless told, as a user would tell it
  const env = pipEnv(toolEnv, py.externallyManaged);
  if (py.externallyManaged) {
    ctx.logger.info(`${py.python} is externally managed (PEP 668): pip runs with --break-system-packages`);
  }
  const base = [py.python, '-m', 'pip', 'install', ...PIP_FLAGS];
  ctx.logger.info(`pip install in ${group[0]!.root}: ${group.map(spec).join(' ')}`);
  if (direct.length > 0) await pipDirect(ctx, base, env, direct, out);
  if (vendored.length > 0) await pipVendored(ctx, base, env, vendored, out);
  return [];
}

function throwFirst(out: LanguageResult): void {
  const f = out.failed[0];
  if (!f) return;
  const more = out.failed.length > 1 ? ` (and ${out.failed.length - 1} more)` : '';
  const pip = f.reason.startsWith('pip install failed');
  throw new CopaError(
    pip ? 'PACKAGE_MANAGER' : 'VALIDATION',
    `python package ${f.name} ${f.required} at ${f.path}: ${f.reason}${more}`,
    {
      hint: pip
        ? "check that this version exists on the package index (--pip-index-url) for the image's Python; --ignore-errors patches the rest"
        : 'the environment resolved another version; --ignore-errors keeps the other updates',
    },
  );
}

export const pythonManager: LanguageManager = {
  name: 'python',
  types: ['python-pkg'],
  async patch(ctx, updates) {
    const out: LanguageResult = { changes: [], failed: [], skipped: [], excluded: [] };
    const targets = await planTargets(ctx.exec(), updates, out, ctx.ignoreErrors);
    if (ctx.dryRun) {
      out.changes.push(...targets.map((t) => change(t)));
      return out;
    }
    const bySite = new Map<string, Target[]>();
    for (const t of targets) bySite.set(t.loc.site, [...(bySite.get(t.loc.site) ?? []), t]);
    const tooling: Target[] = [];
    for (const group of bySite.values()) tooling.push(...(await inImage(ctx, group, out)));
    if (tooling.length > 0) await viaTooling(ctx, tooling, out);
    if (!ctx.ignoreErrors) throwFirst(out);
    return out;
  },
};
