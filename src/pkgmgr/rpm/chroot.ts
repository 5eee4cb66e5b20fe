/**
 * RPM images with an rpm database but no package manager (or no rpm): dnf runs in a tooling image with the
 * image bound at TARGET and works on it with `--installroot` (COPA-BEHAVIOUR §2.6 "missing tools"). The image's
 * own repository files are used (`reposdir`), so the tooling image only has to supply dnf and rpm.
 *
 * dnf puts its cache and logs under the install root: the cache is bound there from the shared cache (in the
 * tooling root, so it never enters the image) and both are excluded from the layer.
 */
import { rpmVersion } from '../../version/rpm.js';
import type { PackageManager, PackageManagerContext } from '../types.js';
import { RPM_EXCLUDES } from './inimage.js';
import { parseCheckUpdate, parseRpmQa, plannedFromCheckUpdate, RESULTS_QUERY_FORMAT } from './parse.js';
import { dnfChrootToolingImages, releaseVer } from './probe.js';
import { applyStep, refreshStep, step } from './run.js';

export const TARGET = '/tmp/rootfs';

/** dnf's options for working on the image at TARGET. */
export function dnfRootOptions(osVersion: string): string[] {
  return [
    `--installroot=${TARGET}`,
    `--setopt=reposdir=${TARGET}/etc/yum.repos.d`,
    ...(osVersion ? [`--releasever=${releaseVer(osVersion)}`] : []),
    '--nogpgcheck',
  ];
}

async function installed(ctx: PackageManagerContext): Promise<Map<string, string>> {
  const r = await step(ctx, ['rpm', `--root=${TARGET}`, '-qa', '--queryformat', RESULTS_QUERY_FORMAT], {
    what: 'rpm -qa (tooling)',
    in: 'tooling',
  });
  return parseRpmQa(r.stdout);
}

/** The dnf-chroot manager for an image of this OS version (for `--releasever`). */
export function dnfChrootManager(os: { type: string; version: string }): PackageManager {
  const opts = dnfRootOptions(os.version);
  return {
    name: 'rpm-dnf-chroot',
    scheme: rpmVersion,
    cachePaths: [`${TARGET}/var/cache/dnf`],
    cacheRoot: 'tooling',
    excludePaths: ['/var/cache/dnf', ...RPM_EXCLUDES],
    tooling: { images: dnfChrootToolingImages, targetPath: TARGET },
    installed,
    async refresh(ctx) {
      await refreshStep(ctx, ['dnf', ...opts, 'makecache', '--refresh'], {
        what: 'dnf makecache',
        in: 'tooling',
      });
    },
    held: () => Promise.resolve([]),
    async simulate(ctx, names) {
      const before = await installed(ctx);
      const r = await step(ctx, ['dnf', ...opts, '-q', 'check-update', ...(names ?? [])], {
        what: 'dnf check-update',
        in: 'tooling',
        ok: [0, 100],
      });
      return plannedFromCheckUpdate(parseCheckUpdate(r.stdout), before);
    },
    async apply(ctx, names) {
      await applyStep(ctx, ['dnf', ...opts, 'upgrade', '-y', ...(names ?? [])], {
        what: 'dnf upgrade',
        in: 'tooling',
      });
    },
  };
}
