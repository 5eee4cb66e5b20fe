import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { distrolessUpdates, ensureDistrolessFixture } from '../test/helpers/distroless.js';
import { pushFixture } from '../test/helpers/fixtures.js';
import { trivyReport } from '../test/helpers/trivy.js';
import type { Upgradable } from '../test/helpers/upgradable.js';
import type { BenchContext, Contender } from './contender.js';
import { copaContender } from './copa.js';
import { copaGoContender, type CopaGoEnv } from './peer.js';
import type { Temperature } from './stats.js';
import { TOOLING_REPO, TOOLING_TAG } from './tooling.js';

/**
 * W3, distroless: the Google-distroless-like Debian 12 fixture of the tests (test/helpers/distroless.ts:
 * status.d, no apt/dpkg/shell; cached for the day), pushed as bench/distroless:12, with a Trivy report of
 * its packages that bookworm + -updates + -security upgrade today (distrolessUpdates). Ours: `patch -i … -r
 * report --tooling-image REG/copa-tooling/debian:12-slim`; the original Copa pulls its Debian tooling image,
 * which the bench's source policy serves from the same image (bench/tooling.ts). Without any upgradable
 * package today the rows run update-all (and their labels say so).
 *
 * The original Copa runs with --ignore-errors (its labels say so): its distroless path installs the .debs
 * with `dpkg --root=<image> --force-all`, which runs the maintainer scripts outside the image with
 * DPKG_ROOT set, and tzdata's postinst (debconf) then finds no debconf configuration under DPKG_ROOT and
 * fails, so without the flag every run that updates tzdata (or ca-certificates) stops there. With it Copa
 * goes on and pushes the unpacked packages; the layer it adds is read back as for every other row.
 */

export const W3_SOURCE = 'bench/distroless:12';
export const W3_IDS: readonly string[] = [
  'copa-w3-cold',
  'copa-w3-warm',
  'copa-go-w3-cold',
  'copa-go-w3-warm',
];

export interface W3Plan {
  layoutDir: string;
  refName: string;
  updates: Upgradable[];
  /** the report file; undefined = update-all (nothing upgradable today) */
  report?: string;
}

/** The fixture, its upgradable packages today and the report (the image is pushed by the rows, once). */
export async function w3Plan(ctx: BenchContext): Promise<W3Plan> {
  ctx.log('W3: distroless fixture (cached for the day) and its upgradable packages');
  const fixture = await ensureDistrolessFixture();
  const updates = await distrolessUpdates(fixture);
  const plan: W3Plan = { layoutDir: fixture.layoutDir, refName: fixture.refName, updates };
  if (updates.length === 0) return plan;
  const report = join(ctx.workDir, 'report-w3.json');
  await writeFile(
    report,
    trivyReport({
      family: 'debian',
      version: '12',
      arch: fixture.arch,
      image: `${ctx.proxyHost}/${W3_SOURCE}`,
      vulns: updates.map((u) => ({ pkg: u.name, installed: u.from, fixed: u.to })),
    }),
  );
  return { ...plan, report };
}

/** The W3 label of a row (`plan` undefined: W3 not selected, the rows never run). */
/** the original Copa's W3 flags (see above) */
export const COPA_GO_W3_FLAGS: readonly string[] = ['--ignore-errors'];

export function w3Label(plan: W3Plan | undefined, temperature: Temperature, copaGo: boolean): string {
  const what =
    plan === undefined
      ? 'W3 distroless'
      : plan.report
        ? `W3 distroless report (${plan.updates.length} pkgs)`
        : 'W3 distroless update-all (nothing upgradable today)';
  return `${what}${copaGo ? `: Copa v0.14.2 ${COPA_GO_W3_FLAGS.join(' ')}` : ''}, ${temperature}`;
}

/** Our W3 rows and the original Copa's, cold and warm. `tooling` pushes the tooling image once. */
export function w3Contenders(
  ctx: BenchContext,
  env: CopaGoEnv,
  tooling: () => Promise<string>,
  plan: W3Plan | undefined,
): Contender[] {
  let pushed: Promise<void> | undefined;
  const ensure = (): Promise<void> =>
    (pushed ??= (async () => {
      if (!plan) throw new Error('W3 was not selected');
      await pushFixture(plan.layoutDir, plan.refName, ctx.registryHost, W3_SOURCE);
      ctx.log(`W3: distroless image pushed as ${W3_SOURCE}`);
    })());
  const upgradable = plan?.updates.map((u) => u.name) ?? [];
  const report = plan?.report ? { report: plan.report } : {};
  const temps: Temperature[] = ['cold', 'warm'];
  const ours = temps.map((temperature) =>
    copaContender(
      {
        id: `copa-w3-${temperature}`,
        label: w3Label(plan, temperature, false),
        temperature,
        image: 'distroless',
        workload: 'w3',
        source: W3_SOURCE,
        ...report,
        extraArgs: ['--tooling-image', `${ctx.proxyHost}/${TOOLING_REPO}:${TOOLING_TAG}`],
        ensure: async () => {
          await ensure();
          await tooling();
        },
        upgradable,
      },
      ctx,
    ),
  );
  const theirs = temps.map((temperature) =>
    copaGoContender(
      {
        id: `copa-go-w3-${temperature}`,
        label: w3Label(plan, temperature, true),
        temperature,
        image: 'distroless',
        workload: 'w3',
        source: W3_SOURCE,
        ...report,
        extraArgs: [...COPA_GO_W3_FLAGS],
        ensure,
        upgradable,
      },
      env,
      ctx,
    ),
  );
  return [...ours, ...theirs];
}
