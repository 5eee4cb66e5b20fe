/**
 * What runs inside an opened image root: the OS package manager (unless the report is language-only or
 * --pkg-types leaves it out), then the library managers. Closes the session when done.
 */
import { settled } from '../limit.js';
import type { ImageRoot, ToolingRoot } from '../engine/types.js';
import { formatPlatform } from '../oci/platform.js';
import type { UpdateManifest } from '../report/types.js';
import { applyUpdates, probeImage, type Applied, type ApplyContext } from './apply.js';
import { patchLibraries, type LibrariesApplied, type LibraryEnv } from './libraries.js';
import type { PatchPlan } from './plan.js';
import type { ResolvedPatchOptions } from './options.js';

export interface StageInput {
  apply: ApplyContext;
  /** library stage environment (everything but the root) */
  libraries: Omit<LibraryEnv, 'root'>;
  /** pull a tooling image for the OS package manager and extract it (distroless / tool-less images) */
  osTooling(candidates: string[]): Promise<Omit<ToolingRoot, 'targetPath'>>;
  /** update-all runs: the end-of-life check */
  endOfLife(os: { type: string; version: string }): Promise<void>;
}

export interface Staged {
  applied: Applied;
  libraries?: LibrariesApplied;
}

/** Which halves of the report run: Copa's "language-only mode" skips the OS when it has nothing to do. */
export function stagesFor(
  opts: ResolvedPatchOptions,
  report: UpdateManifest | undefined,
): { os: boolean; libraries: boolean } {
  if (!report) return { os: true, libraries: false };
  const libraries = opts.pkgTypes.includes('library') && report.langUpdates.length > 0;
  const os = opts.pkgTypes.includes('os') && (report.osUpdates.length > 0 || !libraries);
  return { os, libraries };
}

function emptyPlan(input: StageInput): PatchPlan {
  const { report } = input.apply;
  return {
    mode: 'report',
    image: input.apply.imageRef,
    target: input.apply.targetRef,
    platform: formatPlatform(input.apply.platform),
    os: { type: report?.os.type ?? '', version: report?.os.version ?? '' },
    alreadyFixed: [],
    notInstalled: [],
    held: [],
    updates: [],
  };
}

/**
 * --sbom on a run that leaves the OS alone: the OS package list all the same (read, not changed). An image
 * without one the report names (scratch, a language-only report) has none: the SBOM lists libraries only.
 */
async function osPackages(root: ImageRoot, input: StageInput): Promise<Map<string, string> | undefined> {
  const { report, opts, logger } = input.apply;
  if (!report?.os.type) return undefined;
  try {
    const { pm } = await probeImage(root, report, opts.ignoreErrors, logger);
    return await pm.installed({ session: root.session, logger, ignoreErrors: opts.ignoreErrors });
  } catch (e) {
    logger.info(`--sbom: the OS packages are not listed (${e instanceof Error ? e.message : String(e)})`);
    return undefined;
  }
}

export async function runStages(root: ImageRoot, input: StageInput): Promise<Staged> {
  const { opts, report, logger } = input.apply;
  const which = stagesFor(opts, report);
  const ignoredLibs = report && !opts.pkgTypes.includes('library') ? report.langUpdates.length : 0;
  if (ignoredLibs > 0) {
    logger.info(
      `Leaving ${ignoredLibs} library finding(s) alone: --pkg-types is os (COPA_EXPERIMENTAL=1 --pkg-types os,library patches them)`,
    );
  }
  try {
    let applied: Applied = { plan: emptyPlan(input), excluded: [] };
    if (which.os) {
      const probe = await probeImage(root, report, opts.ignoreErrors, logger);
      // update-all: the end-of-life check (an HTTP request, up to 10 s) runs alongside the package lists'
      // refresh and the simulation, and is waited for before anything is installed
      const eol = report ? undefined : input.endOfLife(probe.os);
      const eolSettled = settled(eol);
      try {
        if (probe.pm.tooling) {
          // the package manager is not in the image: reopen with a tooling image that supplies it
          const tooling = await input.osTooling(probe.pm.tooling.images(probe.os));
          await root.reopen({ ...tooling, targetPath: probe.pm.tooling.targetPath });
        }
        applied = await applyUpdates(root, probe, eol ? { ...input.apply, gate: eol } : input.apply);
      } catch (e) {
        await eolSettled; // no request left running once the run has failed
        throw e;
      }
      if (probe.pm.tooling && which.libraries) await root.reopen();
    } else if (report && report.osUpdates.length === 0) {
      logger.info('The report lists library findings only: OS packages are left as they are');
    }
    if (!which.os && (opts.sbomOutput || opts.attach) && !opts.dryRun)
      applied.packages = await osPackages(root, input);
    if (!which.libraries || !report) return { applied };
    const libs = (): Promise<LibrariesApplied> =>
      patchLibraries({ ...input.libraries, root }, report.langUpdates);
    const libraries = await (input.apply.phases
      ? input.apply.phases.time('libraries updated', libs)
      : libs());
    applied.plan.libraries = libraries.changes;
    applied.plan.librariesSkipped = libraries.skipped;
    return { applied, libraries };
  } finally {
    await root.session.close();
  }
}
