/**
 * RPM images that carry their own package manager (tdnf, dnf, yum or microdnf) and rpm: the commands run
 * chrooted in the image (COPA-BEHAVIOUR §2.6 "in-image"). Caches are bound from the shared cache, so Copa's
 * `clean all` is not needed (and would empty that cache).
 */
import { CopaError } from '../../errors.js';
import { rpmVersion } from '../../version/rpm.js';
import type { PackageManager, PackageManagerContext, PlannedUpdate } from '../types.js';
import {
  parseAvailableNevras,
  parseCheckUpdate,
  parseRpmQa,
  plannedFromAvailable,
  plannedFromCheckUpdate,
  RESULTS_QUERY_FORMAT,
} from './parse.js';
import { chooseRpmStrategy, readRpmFacts, type RpmTool } from './probe.js';
import { applyStep, refreshStep, step } from './run.js';

const CACHE: Record<RpmTool, string[]> = {
  tdnf: ['/var/cache/tdnf'],
  dnf: ['/var/cache/dnf'],
  yum: ['/var/cache/yum'],
  microdnf: ['/var/cache/yum'],
};

/** logs of the package managers and rpm's lock / Berkeley DB environment files: never part of the layer */
export const RPM_EXCLUDES = [
  '/var/log/dnf.log',
  '/var/log/dnf.librepo.log',
  '/var/log/dnf.rpm.log',
  '/var/log/hawkey.log',
  '/var/log/yum.log',
  '/var/log/tdnf.log',
  '/var/lib/rpm/.rpm.lock',
  '/var/lib/rpm/__db.001',
  '/var/lib/rpm/__db.002',
  '/var/lib/rpm/__db.003',
];

/** Commands per tool (Copa's flags). */
export function refreshArgv(tool: RpmTool): string[] | undefined {
  switch (tool) {
    case 'tdnf':
    case 'dnf':
      return [tool, 'makecache', '--refresh', '-y'];
    case 'yum':
      return ['yum', 'makecache', 'fast'];
    case 'microdnf':
      return undefined; // microdnf fetches metadata when it needs it
  }
}

export function applyArgv(tool: RpmTool, names: string[] | null): string[] {
  const pkgs = names ?? [];
  switch (tool) {
    case 'tdnf':
    case 'dnf':
      return [tool, 'upgrade', '--refresh', ...pkgs, '-y'];
    case 'yum':
      return ['yum', 'upgrade', ...pkgs, '-y'];
    case 'microdnf':
      return ['microdnf', 'update', ...pkgs, '-y'];
  }
}

async function installedVia(ctx: PackageManagerContext): Promise<Map<string, string>> {
  const r = await step(ctx, ['rpm', '-qa', '--queryformat', RESULTS_QUERY_FORMAT], { what: 'rpm -qa' });
  return parseRpmQa(r.stdout);
}

async function simulateWith(
  tool: RpmTool,
  ctx: PackageManagerContext,
  names: string[] | null,
): Promise<PlannedUpdate[]> {
  const installed = await installedVia(ctx);
  if (tool === 'microdnf') {
    // microdnf has no check-update: compare what the repositories offer with the rpmdb
    const r = await step(ctx, ['microdnf', 'repoquery', ...(names ?? [])], { what: 'microdnf repoquery' });
    return plannedFromAvailable(installed, parseAvailableNevras(r.stdout), names);
  }
  const r = await step(ctx, [tool, '-q', 'check-update', ...(names ?? [])], {
    what: `${tool} check-update`,
    ok: [0, 100],
  });
  return plannedFromCheckUpdate(parseCheckUpdate(r.stdout), installed);
}

/**
 * The in-image manager for `tool`. Without a tool, the first call finds it in the image (for callers that did
 * not read the image's RPM facts first); an image without a package manager then fails clearly.
 */
export function inImageRpmManager(tool?: RpmTool): PackageManager {
  let resolved: RpmTool | undefined = tool;
  const which = async (ctx: PackageManagerContext): Promise<RpmTool> => {
    if (resolved) return resolved;
    const facts = await readRpmFacts(ctx.session);
    const strategy = chooseRpmStrategy({ type: 'rpm', version: '' }, facts, {
      reportMode: false,
      ignoreErrors: true,
    });
    if (strategy.kind !== 'in-image') {
      throw new CopaError(
        'PACKAGE_MANAGER',
        'the image has no RPM package manager (tdnf, dnf, yum, microdnf) or no rpm',
        {
          hint: 'such images are patched through a tooling image; this caller did not choose the manager from the image facts (chooseManager)',
        },
      );
    }
    resolved = strategy.tool;
    ctx.logger.debug(`RPM package manager in the image: ${resolved} (database: ${strategy.db})`);
    return resolved;
  };
  return {
    name: tool ? `rpm-${tool}` : 'rpm',
    scheme: rpmVersion,
    cachePaths: tool ? CACHE[tool] : ['/var/cache/dnf', '/var/cache/yum', '/var/cache/tdnf'],
    excludePaths: RPM_EXCLUDES,
    installed: (ctx) => installedVia(ctx),
    async refresh(ctx) {
      const t = await which(ctx);
      const argv = refreshArgv(t);
      if (argv) await refreshStep(ctx, argv, { what: `${t} makecache` });
    },
    held: () => Promise.resolve([]),
    async simulate(ctx, names) {
      return simulateWith(await which(ctx), ctx, names);
    },
    async apply(ctx, names) {
      const t = await which(ctx);
      await applyStep(ctx, applyArgv(t, names), { what: `${t} ${t === 'microdnf' ? 'update' : 'upgrade'}` });
    },
  };
}
