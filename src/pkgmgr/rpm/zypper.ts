/**
 * SUSE images (SLES, openSUSE Leap/Tumbleweed): zypper from a tooling image (BCI base, openSUSE) with the
 * image bound at TARGET, `--installroot` (COPA-BEHAVIOUR §2.6 "SUSE"). With `--installroot` zypper uses the
 * tooling image's repositories, as in Copa.
 */
import { rpmVersion } from '../../version/rpm.js';
import type { PackageManager, PackageManagerContext, PlannedUpdate } from '../types.js';
import { TARGET } from './chroot.js';
import { RPM_EXCLUDES } from './inimage.js';
import { parseRpmQa, RESULTS_QUERY_FORMAT, withEpochOf } from './parse.js';
import { zypperToolingImages } from './probe.js';
import { applyStep, refreshStep, step } from './run.js';

export interface ZypperUpdate {
  name: string;
  edition: string;
  arch: string;
}

function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m?.[1]
    ?.replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** `zypper --xmlout list-updates`: the package updates (`<update kind="package" name= edition= arch=>`). */
export function parseZypperUpdates(xml: string): ZypperUpdate[] {
  const out: ZypperUpdate[] = [];
  for (const m of xml.matchAll(/<update\s[^>]*>/g)) {
    const tag = m[0];
    const kind = attr(tag, 'kind') ?? 'package';
    const name = attr(tag, 'name');
    const edition = attr(tag, 'edition');
    if (kind !== 'package' || !name || !edition) continue;
    out.push({ name, edition, arch: attr(tag, 'arch') ?? '' });
  }
  return out;
}

export function plannedFromZypper(
  updates: readonly ZypperUpdate[],
  installed: ReadonlyMap<string, string>,
  only: readonly string[] | null,
): PlannedUpdate[] {
  const best = new Map<string, string>();
  for (const u of updates) {
    if (only && !only.includes(u.name)) continue;
    const current = best.get(u.name);
    if (current === undefined || rpmVersion.compare(current, u.edition) < 0) best.set(u.name, u.edition);
  }
  return [...best]
    .map(([name, to]) => ({ name, from: installed.get(name), to: withEpochOf(to, installed.get(name)) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const ZYPPER = ['zypper', '--non-interactive'];

async function installed(ctx: PackageManagerContext): Promise<Map<string, string>> {
  const r = await step(ctx, ['rpm', `--root=${TARGET}`, '-qa', '--queryformat', RESULTS_QUERY_FORMAT], {
    what: 'rpm -qa (tooling)',
    in: 'tooling',
  });
  return parseRpmQa(r.stdout);
}

export const zypperChrootManager: PackageManager = {
  name: 'rpm-zypper-chroot',
  scheme: rpmVersion,
  cachePaths: ['/var/cache/zypp'],
  cacheRoot: 'tooling',
  excludePaths: ['/var/cache/zypp', '/var/log/zypp', '/var/log/zypper.log', ...RPM_EXCLUDES],
  tooling: { images: zypperToolingImages, targetPath: TARGET },
  installed,
  async refresh(ctx) {
    await refreshStep(ctx, [...ZYPPER, 'refresh'], { what: 'zypper refresh', in: 'tooling' });
  },
  held: () => Promise.resolve([]),
  async simulate(ctx, names) {
    const before = await installed(ctx);
    const r = await step(ctx, [...ZYPPER, '--xmlout', '--installroot', TARGET, 'list-updates'], {
      what: 'zypper list-updates',
      in: 'tooling',
    });
    return plannedFromZypper(parseZypperUpdates(r.stdout), before, names);
  },
  async apply(ctx, names) {
    await applyStep(ctx, [...ZYPPER, '--installroot', TARGET, 'up', '--no-recommends', ...(names ?? [])], {
      what: 'zypper up',
      in: 'tooling',
    });
  },
};
