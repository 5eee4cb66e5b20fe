/**
 * The library half of a patch: after the OS packages (or instead of them, for language-only reports),
 * each ecosystem manager runs over the same image root; its changes land in the same one layer.
 */
import { CopaError } from '../errors.js';
import type { Executor, ImageRoot, ToolingRoot } from '../engine/types.js';
import type { Logger } from '../log.js';
import type { Image } from '../oci/image.js';
import type { ImageReference } from '../oci/reference.js';
import type { Platform } from '../oci/schemas.js';
import type { UpdatePackage } from '../report/types.js';
import { buildCaBundle, CA_TARGET, caEnv } from '../langmgr/common/ca.js';
import { indexEnv, redactUrl, resolveIndexes } from '../langmgr/common/indexes.js';
import { managerFor, selectLibraryUpdates, splitGoStdlib } from '../langmgr/index.js';
import type {
  ImageFacts,
  LanguageContext,
  LanguageManager,
  LibraryChange,
  LibraryFailure,
} from '../langmgr/types.js';
import type { ResolvedPatchOptions } from './options.js';

export interface LibrariesApplied {
  changes: LibraryChange[];
  failed: LibraryFailure[];
  skipped: Array<{ type: string; name: string; path: string; reason: string }>;
  excluded: string[];
  /** report entries whose library is now at its chosen fixed version: for VEX */
  validated: UpdatePackage[];
}

export interface LibraryEnv {
  opts: ResolvedPatchOptions;
  root: ImageRoot;
  image: Image;
  source: ImageReference;
  platform: Platform;
  workDir: string;
  logger: Logger;
  signal: AbortSignal;
  onOutput?: ((stream: 'stdout' | 'stderr', data: string) => void) | undefined;
  /** pull a tooling image (first candidate that resolves) and extract its layers */
  tooling(candidates: string[]): Promise<Omit<ToolingRoot, 'targetPath'>>;
}

async function imageFacts(image: Image, source: ImageReference, platform: Platform): Promise<ImageFacts> {
  const config = await image.config();
  return {
    env: config.config?.Env ?? [],
    labels: config.config?.Labels ?? {},
    history: (config.history ?? []).map((h) => h.created_by ?? ''),
    platform: { os: platform.os, architecture: platform.architecture, variant: platform.variant },
    tag: source.tag,
  };
}

/** Choose the versions, then run each ecosystem's manager over the image root. */
export async function patchLibraries(env: LibraryEnv, lang: UpdatePackage[]): Promise<LibrariesApplied> {
  const { opts, root, logger } = env;
  const out: LibrariesApplied = { changes: [], failed: [], skipped: [], excluded: [], validated: [] };
  const { stdlib, rest } = splitGoStdlib(lang);
  const selection = selectLibraryUpdates(rest, opts.libraryPatchLevel);
  for (const s of selection.skipped) {
    out.skipped.push({ type: s.type, name: s.name, path: s.pkgPath, reason: s.reason });
    logger.info(`library ${s.name} (${s.pkgPath || s.type}): ${s.reason}`);
  }
  const chosen = [...selection.updates, ...stdlib];
  const byManager = new Map<LanguageManager, UpdatePackage[]>();
  for (const u of chosen) {
    const m = managerFor(u.type ?? '');
    if (!m) {
      out.skipped.push({
        type: u.type ?? '',
        name: u.name,
        path: u.pkgPath ?? '',
        reason: 'ecosystem not supported',
      });
      continue;
    }
    byManager.set(m, [...(byManager.get(m) ?? []), u]);
  }
  if (byManager.size === 0) return out;

  const indexes = resolveIndexes(opts);
  for (const [k, v] of [
    ['pip index', indexes.pipIndexUrl],
    ['npm registry', indexes.npmRegistry],
    ['Go proxy', indexes.goproxy],
  ] as const) {
    if (v) logger.info(`Using ${k} ${redactUrl(v)}`);
  }
  const bundle = await buildCaBundle(env.workDir, opts.caCerts);
  // the bundle is bound once per session and root
  const bound = new WeakMap<Executor, Set<string>>();
  const facts = await imageFacts(env.image, env.source, env.platform);
  let exec = root.session;
  const ctx: LanguageContext = {
    exec: () => exec,
    async withTooling(candidates, targetPath) {
      const tooling = await env.tooling(candidates);
      exec = await root.reopen({ ...tooling, targetPath });
      return exec;
    },
    async withoutTooling() {
      exec = await root.reopen();
      return exec;
    },
    async toolEnv(where) {
      const extra = indexEnv(indexes);
      if (!bundle) return extra;
      const roots = bound.get(exec) ?? new Set<string>();
      if (!roots.has(where)) {
        await exec.bind({ source: bundle, target: CA_TARGET, kind: 'file', readOnly: true }, where);
        roots.add(where);
        bound.set(exec, roots);
      }
      return { ...caEnv(), ...extra };
    },
    indexes,
    image: facts,
    logger,
    ignoreErrors: opts.ignoreErrors,
    dryRun: opts.dryRun,
    signal: env.signal,
    onOutput: env.onOutput,
    toolchainPatchLevel: opts.toolchainPatchLevel,
    goVcsUrl: opts.goVcsUrl,
  };
  for (const [m, updates] of byManager) {
    const name = m.name;
    env.signal.throwIfAborted();
    logger.info(`${opts.dryRun ? 'Planning' : 'Patching'} ${updates.length} ${name} library update(s)`);
    try {
      const r = await m.patch(ctx, updates);
      out.changes.push(...r.changes);
      out.failed.push(...r.failed);
      out.excluded.push(...r.excluded);
      for (const s of r.skipped) out.skipped.push({ type: updates[0]?.type ?? '', ...s });
    } catch (e) {
      if (!opts.ignoreErrors || !(e instanceof CopaError)) throw e;
      logger.warn(`${name} libraries were not patched (ignored: --ignore-errors): ${e.message}`);
      for (const u of updates) {
        out.failed.push({
          type: u.type ?? '',
          name: u.name,
          path: u.pkgPath ?? '',
          required: u.fixedVersion,
          installed: null,
          reason: e.message,
        });
      }
    }
  }
  // VEX: every report entry whose library (same name and ecosystem, at or under the changed path) is now at
  // its chosen version; an entry with a failure at its path is left out
  const matches = (u: UpdatePackage, c: { name: string; type: string; path: string }): boolean =>
    c.name === u.name && c.type === (u.type ?? '') && within(u.pkgPath ?? '', c.path);
  out.validated = lang.filter(
    (u) => out.changes.some((c) => matches(u, c)) && !out.failed.some((f) => matches(u, f)),
  );
  return out;
}

/** Whether a report path (Trivy style, no leading `/`) is the changed path or lies under it. */
export function within(pkgPath: string, changed: string): boolean {
  const dir = changed.replace(/^\/+|\/+$/g, '');
  const p = pkgPath.replace(/^\/+/, '');
  return dir === '' || p === dir || p.startsWith(`${dir}/`);
}

/** Copa's rules for the experimental flags, checked before any work. */
export function checkLibraryOptions(opts: ResolvedPatchOptions, hasReport: boolean): void {
  const library = opts.pkgTypes.includes('library');
  if (library && !hasReport) {
    throw new CopaError('USAGE', '--pkg-types library needs a scanner report (-r)', {
      hint: 'library findings come from the report; without one only OS packages are updated',
    });
  }
  if (opts.libraryPatchLevel !== 'patch' && !library) {
    throw new CopaError('USAGE', '--library-patch-level needs --pkg-types to include library', {
      hint: 'add --pkg-types os,library',
    });
  }
}
