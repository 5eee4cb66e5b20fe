/**
 * The steps of a Node.js library patch after planning: `npm pack` results checked tarball by tarball, the
 * planned copies replaced, and the app's lock files brought along; failures gathered per package.
 */
import { createHash } from 'node:crypto';
import { CopaError, type ErrorCode } from '../../errors.js';
import type { LanguageContext, LibraryChange, LibraryFailure } from '../types.js';
import type { UpdatePackage } from '../../report/types.js';
import { under, type Copy } from './discover.js';
import { editLockfile, type LockEdit } from './lockfile.js';
import type { Target } from './paths.js';
import * as s from './site.js';
import { inspectTarball, type PackedPackage } from './tarball.js';

export const TYPE = 'node-pkg';
const LOCKS = ['package-lock.json', 'npm-shrinkwrap.json', 'node_modules/.package-lock.json'];

export interface Entry {
  u: UpdatePackage;
  to: string;
  target: Target;
  copies: Copy[];
  change: LibraryChange;
}

export interface Packed {
  file: string;
  pkg: PackedPackage;
  integrity: string;
}

export class Problems {
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

/** Each name@version once, in the order of the entries. */
export function uniqueSpecs(entries: Entry[]): s.Spec[] {
  const out = new Map<string, s.Spec>();
  for (const e of entries) out.set(`${e.u.name}@${e.to}`, { name: e.u.name, version: e.to });
  return [...out.values()];
}

/**
 * The tarballs of one `npm pack` run for every spec; when that run fails (a version the registry lacks, …),
 * each spec is packed on its own, so that the error names its package and the others still go through.
 * Every tarball is read back and checked.
 */
export async function checkPacks(
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
export async function apply(
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
