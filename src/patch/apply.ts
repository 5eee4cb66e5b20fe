import { CopaError } from '../errors.js';
import { settled } from '../limit.js';
import { Phases } from './phases.js';
import { silentLogger, type Logger } from '../log.js';
import type { ImageRoot } from '../engine/types.js';
import { formatPlatform } from '../oci/platform.js';
import type { Platform } from '../oci/schemas.js';
import { uniqueLatestUpdates, validateInstalled, validatePackageName } from '../pkgmgr/common/index.js';
import { canonicalFamily, chooseManager } from '../pkgmgr/index.js';
import type { PackageManager, PackageManagerContext } from '../pkgmgr/types.js';
import type { UpdateManifest, UpdatePackage } from '../report/types.js';
import type { ResolvedPatchOptions } from './options.js';
import { DaemonPackageCache } from './daemon-cache.js';
import { PackageCache, packageCacheKey } from './pkgcache.js';
import { osFromRelease, type OsInfo } from './os.js';
import { selectUpdates, type PatchPlan } from './plan.js';

export interface ApplyContext {
  opts: ResolvedPatchOptions;
  report: UpdateManifest | undefined;
  cacheDir: string;
  /** the run's scratch dir (private package-cache dirs live here) */
  workDir: string;
  platform: Platform;
  imageRef: string;
  targetRef: string;
  logger: Logger;
  signal: AbortSignal;
  /** awaited after the simulation, before anything is installed (the end-of-life check runs meanwhile) */
  gate?: Promise<void>;
  /** where the phase timings go (package lists, simulation, download, install) */
  phases?: Phases;
  onOutput?: PackageManagerContext['onOutput'];
}

export interface Applied {
  plan: PatchPlan;
  /** image paths that must not enter the layer */
  excluded: string[];
  installed?: Record<string, string>;
  failed?: Array<{ name: string; installed: string | null; required: string }>;
  /** report entries (every vulnerability) whose package is now installed at or above the fix: for VEX */
  validated?: UpdatePackage[];
  /** every OS package installed after the patch (the package manager's own list): for the SBOM */
  packages?: Map<string, string>;
}

export interface Probe {
  os: OsInfo;
  pm: PackageManager;
}

/** Read what the image is (OS, package database layout) and choose its package manager. */
export async function probeImage(
  root: ImageRoot,
  report: UpdateManifest | undefined,
  ignoreErrors = false,
  logger: Logger = silentLogger,
): Promise<Probe> {
  const os = await detectOs(root, report, logger);
  const pm = await chooseManager(os, root.session, { reportMode: report !== undefined, ignoreErrors });
  return { os, pm };
}

async function detectOs(
  root: ImageRoot,
  report: UpdateManifest | undefined,
  logger: Logger,
): Promise<OsInfo> {
  const rel =
    (await root.session.readFile('/etc/os-release')) ?? (await root.session.readFile('/usr/lib/os-release'));
  const fromImage = rel ? osFromRelease(rel.toString('utf8')) : undefined;
  if (!report) {
    if (!fromImage) {
      throw new CopaError('UNSUPPORTED_OS', 'the image has no /etc/os-release: cannot tell its OS', {
        hint: 'give a scanner report with -r so the OS comes from it',
      });
    }
    return fromImage;
  }
  const fromReport = { type: canonicalFamily(report.os.type), version: report.os.version };
  const family = (t: string): string => (canonicalFamily(t) === 'alma' ? 'almalinux' : canonicalFamily(t));
  if (fromImage && family(fromImage.type) !== family(fromReport.type)) {
    throw new CopaError(
      'REPORT',
      `the report is for ${fromReport.type} ${fromReport.version} but the image runs ${fromImage.type} ${fromImage.version}`,
      { hint: 'scan this image and pass that report' },
    );
  }
  const major = (v: string): string => v.split('.')[0] ?? v;
  if (fromImage?.version && fromReport.version && major(fromImage.version) !== major(fromReport.version)) {
    // Copa takes the report's word for it; we say so, and plan with the release the image really runs
    logger.warn(
      `the report is for ${fromReport.type} ${fromReport.version} but the image runs ${fromImage.type} ${fromImage.version}: ` +
        `patching it as ${fromImage.type} ${fromImage.version}; fixed versions meant for another release may not exist (rescan the image)`,
    );
    return { type: fromReport.type, version: fromImage.version };
  }
  return fromReport;
}

/**
 * Counts packages set up from the package manager's output ("Setting up <name> …" of dpkg, "Upgrading"/
 * "Installing" lines of dnf/zypper/apk): calls `onCount` with the number seen so far.
 */
export function installCounter(
  names: readonly string[],
  onCount: (n: number) => void,
): (chunk: string) => void {
  const wanted = new Set(names);
  const seen = new Set<string>();
  let partial = '';
  const LINE = /^(?:Setting up|\s*Upgrading\s*:|\s*Installing\s*:|\(\d+\/\d+\) Upgrading) +([^\s:(]+)/;
  return (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const name = LINE.exec(line)?.[1]?.replace(/:[a-z0-9]+$/, '');
      if (!name || seen.has(name) || (wanted.size > 0 && !wanted.has(name))) continue;
      seen.add(name);
      onCount(seen.size);
    }
  };
}

/**
 * Inside an opened image root: find the package manager, plan from the report (or update-all), apply,
 * validate. The caller closes the session.
 */
export async function applyUpdates(root: ImageRoot, probe: Probe, ctx: ApplyContext): Promise<Applied> {
  const { opts, report, logger } = ctx;
  const { os, pm } = probe;
  const pmCtx: PackageManagerContext = {
    session: root.session,
    logger,
    ignoreErrors: opts.ignoreErrors,
    ...(ctx.onOutput ? { onOutput: ctx.onOutput } : {}),
  };
  const platform = formatPlatform(ctx.platform);
  const key = await packageCacheKey(pm, pmCtx, os, platform);
  const pkgCache = root.hostBinds
    ? new PackageCache(ctx.cacheDir, key, ctx.workDir, pm, { logger, signal: ctx.signal })
    : new DaemonPackageCache(key, pm);
  for (const [target, source] of await pkgCache.open()) {
    await root.session.bind({ source, target, kind: 'dir' }, pm.cacheRoot ?? 'image');
  }
  const before = await pm.installed(pmCtx);

  let names: string[] | null = null;
  let required = report
    ? uniqueLatestUpdates(report.osUpdates, pm.scheme, { ignoreErrors: opts.ignoreErrors, logger })
    : [];
  const plan: PatchPlan = {
    mode: report ? 'report' : 'update-all',
    image: ctx.imageRef,
    target: ctx.targetRef,
    platform: formatPlatform(ctx.platform),
    os,
    alreadyFixed: [],
    notInstalled: [],
    held: [],
    updates: [],
  };
  if (report) {
    for (const u of required) validatePackageName(u.name);
    const sel = selectUpdates(required, before, pm.scheme);
    plan.alreadyFixed = sel.alreadyFixed;
    plan.notInstalled = sel.notInstalled;
    names = sel.names;
    required = required.filter((u) => sel.names.includes(u.name));
    if (names.length === 0) return { plan, excluded: [] };
  }
  logger.info(`Updating package lists (${os.type} ${os.version})`);
  const phases = ctx.phases ?? new Phases(logger);
  const what = `${os.type} ${os.version} (${platform})`;
  await phases.time('package lists updated', () =>
    pkgCache.refresh(what, (indexesFresh) => pm.refresh(pmCtx, { indexesFresh })),
  );
  // the download needs the same names, not the simulation's result: both load the package manager's
  // dependency cache (~1 s of CPU each for apt), so they run side by side; a download that turns out to be
  // unneeded (nothing to update) fetched nothing
  const download =
    pm.download && pkgCache.separateDownload && !opts.dryRun
      ? phases.time('packages downloaded', () =>
          pkgCache.download(what, async () => pm.download?.(pmCtx, names)),
        )
      : undefined;
  const downloadSettled = settled(download);
  try {
    await phases.time('simulation', async () => {
      plan.held = await pm.held(pmCtx);
      for (const h of plan.held) logger.warn(`package ${h} is held: it will not be patched`);
      plan.updates = await pm.simulate(pmCtx, names);
    });
    await ctx.gate;
  } catch (e) {
    await downloadSettled; // no package manager left running in a root that is about to be torn down
    throw e;
  }
  if (plan.updates.length === 0 || opts.dryRun) {
    await downloadSettled;
    return { plan, excluded: [] };
  }
  if (ctx.signal.aborted) await downloadSettled;
  ctx.signal.throwIfAborted();
  await download;
  logger.info(`Installing ${plan.updates.length} package update(s)`);
  const total = plan.updates.length;
  const counter = installCounter(
    plan.updates.map((u) => u.name),
    (n) => phases.update('packages installed', `package ${Math.min(n, total)}/${total}`),
  );
  const previous = pmCtx.onOutput;
  pmCtx.onOutput = (stream, data) => {
    counter(data);
    previous?.(stream, data);
  };
  await phases.time('packages installed', () => pm.apply(pmCtx, names));
  pmCtx.onOutput = previous;
  await pkgCache.harvest();
  const after = await pm.installed(pmCtx);
  const wanted = report
    ? required
    : plan.updates.map((u) => ({
        name: u.name,
        installedVersion: u.from ?? '',
        fixedVersion: u.to,
        vulnerabilityID: '',
      }));
  const check = validateInstalled(wanted, after, pm.scheme, { ignoreErrors: opts.ignoreErrors, logger });
  const installed: Record<string, string> = {};
  for (const u of plan.updates) {
    const v = after.get(u.name);
    if (v !== undefined) installed[u.name] = v;
  }
  return {
    plan,
    excluded: [...(pm.cacheRoot === 'tooling' ? [] : pm.cachePaths), ...pm.excludePaths],
    installed,
    packages: after,
    validated: (report?.osUpdates ?? []).filter((u) => {
      const v = after.get(u.name);
      return (
        v !== undefined && pm.scheme.isValid(u.fixedVersion) && pm.scheme.compare(v, u.fixedVersion) >= 0
      );
    }),
    failed: check.failed.map((f) => ({
      name: f.name,
      installed: f.installed ?? null,
      required: f.required,
    })),
  };
}
