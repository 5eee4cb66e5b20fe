import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { removeTree } from '../test/helpers/upgradable.js';
import { measure, tail } from './measure.js';
import type { BenchContext, Contender, RoundOutcome } from './contender.js';
import { analyzeRegistryLayer } from './layer.js';
import { profileFloors } from './profile-floors.js';
import type { Temperature } from './stats.js';

/**
 * Our CLI, exactly as a user runs it: `node dist/cli/main.js patch -i … [-r report] --push`, registry to
 * registry through the counting proxy. Cold = a fresh --cache-dir each round (layers pulled and extracted,
 * apt lists and .debs downloaded); warm = one --cache-dir filled by an untimed run before the rounds.
 * Every round pushes to a fresh repository, so the new layer is always uploaded.
 */

export interface CopaSpec {
  id: string;
  label: string;
  temperature: Temperature;
  /** `small`, `10x` or `distroless` */
  image: string;
  /** `w1`, `w2`, `w3` */
  workload: string;
  /** source repository:tag in the registry */
  source: string;
  /** Trivy report file; undefined = update-all */
  report?: string;
  /** more patch flags (e.g. --tooling-image) */
  extraArgs?: string[];
  /** the source pushed (and whatever else the row needs), once; called before the first run */
  ensure?: () => Promise<void>;
  /** packages for the new layer's Installed-Size check (default: the Debian fixture's) */
  upgradable?: string[];
}

/** `repository:tag` -> its two parts (the tag after the last colon). */
export function splitSource(source: string): { repository: string; reference: string } {
  const colon = source.lastIndexOf(':');
  return { repository: source.slice(0, colon), reference: source.slice(colon + 1) };
}

const PatchJson = z.looseObject({
  status: z.string(),
  digest: z.string().optional(),
  layer: z
    .looseObject({
      digest: z.string(),
      size: z.number(),
      uncompressedSize: z.number(),
      mediaType: z.string(),
    })
    .optional(),
  installed: z.record(z.string(), z.string()).optional(),
});
type PatchJson = z.infer<typeof PatchJson>;

const PHASE = /^(?:\[\d\d:\d\d:\d\d\] )?debug: (.+) in ([\d.]+)s$/;

/** `debug: <phase> in <n>s` lines of a --debug run -> phase -> seconds (a repeated phase adds up). */
export function parsePhases(stderr: string): Record<string, number> {
  const phases: Record<string, number> = {};
  for (const line of stderr.split('\n')) {
    const m = PHASE.exec(line.trim());
    if (m?.[1] && m[2]) phases[m[1]] = Math.round(((phases[m[1]] ?? 0) + Number(m[2])) * 100) / 100;
  }
  return phases;
}

/** `node main.js patch -i REG/source [-r report] --push -t REG/target --cache-dir … --timeout 60m --json …` */
export function patchArgv(
  ctx: Pick<BenchContext, 'cli' | 'proxyHost'>,
  spec: Pick<CopaSpec, 'source' | 'report' | 'extraArgs'>,
  cacheDir: string,
  target: string,
  extra: readonly string[] = [],
): string[] {
  return [
    process.execPath,
    ctx.cli,
    'patch',
    '-i',
    `${ctx.proxyHost}/${spec.source}`,
    ...(spec.report ? ['-r', spec.report] : []),
    '--push',
    '-t',
    `${ctx.proxyHost}/${target}`,
    '--cache-dir',
    cacheDir,
    '--timeout',
    '60m',
    '--json',
    ...(spec.extraArgs ?? []),
    ...extra,
  ];
}

export type PatchedLayer = NonNullable<PatchJson['layer']>;

/** The new layer of a patch run's `--json` output; throws unless the image was patched (pure). */
export function patchedLayer(stdout: string, label: string): PatchedLayer {
  let out: PatchJson;
  try {
    out = PatchJson.parse(JSON.parse(stdout));
  } catch (e) {
    throw new Error(`${label}: unreadable --json output (${(e as Error).message}): ${stdout.slice(0, 300)}`, {
      cause: e,
    });
  }
  if (out.status !== 'Patched' || !out.layer)
    throw new Error(`${label}: expected a patched image, got status ${out.status}`);
  return out.layer;
}

export function copaContender(spec: CopaSpec, ctx: BenchContext): Contender {
  const warmCache = join(ctx.workDir, 'copa-warm-cache');
  const scratch = join(ctx.workDir, 'copa-scratch');

  const argv = (cacheDir: string, target: string, extra: string[] = []): string[] =>
    patchArgv(ctx, spec, cacheDir, target, extra);

  const patchOnce = async (cacheDir: string, target: string, extra: string[] = []) => {
    await spec.ensure?.();
    await mkdir(scratch, { recursive: true });
    const m = await measure(argv(cacheDir, target, extra), { scratch });
    if (m.code !== 0) {
      const saved = await ctx.keepLog(`${spec.id}-${target.replace(/[^\w.-]+/g, '_')}`, m.stderr);
      throw new Error(`${spec.label}: copa exited ${m.code} (full output: ${saved}):\n${tail(m.stderr)}`);
    }
    const out = patchedLayer(m.stdout, spec.label);
    return { m, layer: out };
  };

  return {
    id: spec.id,
    label: spec.label,
    family: 'copa',
    temperature: spec.temperature,
    image: spec.image,
    workload: spec.workload,

    async prepare() {
      await spec.ensure?.();
      if (spec.temperature === 'warm') await patchOnce(warmCache, `bench/${spec.id}-warmup:patched`);
    },

    async round(n): Promise<RoundOutcome> {
      const cacheDir =
        spec.temperature === 'warm' ? warmCache : await mkdtemp(join(ctx.workDir, `copa-cold-${spec.id}-`));
      const repository = `bench/${spec.id}-r${n}`;
      ctx.proxy.reset();
      try {
        const { m, layer } = await patchOnce(cacheDir, `${repository}:patched`);
        return {
          round: n,
          sample: m.sample,
          traffic: ctx.proxy.traffic(),
          layer: { compressed: layer.size, uncompressed: layer.uncompressedSize },
          inspect: () =>
            analyzeRegistryLayer(
              ctx.registryHost,
              repository,
              layer.digest,
              spec.upgradable ?? ctx.upgradable,
            ),
        };
      } finally {
        if (spec.temperature === 'cold') await removeTree(cacheDir);
      }
    },

    /**
     * One extra run with --debug for the phase timings; its work dir (kept by --debug) then gives the
     * layer-write floor, and on cold rows the source's pull + extract floor is measured too
     * (bench/profile-floors.ts). The work dir is removed afterwards.
     */
    async profile() {
      const cacheDir =
        spec.temperature === 'warm'
          ? warmCache
          : await mkdtemp(join(ctx.workDir, `copa-profile-${spec.id}-`));
      const work = await mkdtemp(join(ctx.workDir, 'copa-debug-work-'));
      const floors = await mkdtemp(join(ctx.workDir, 'copa-profile-floors-'));
      try {
        const { m } = await patchOnce(cacheDir, `bench/${spec.id}-profile:patched`, ['--debug', '-w', work]);
        const phases = parsePhases(m.stderr);
        const measured = await profileFloors({
          work,
          scratch: floors,
          registryHost: ctx.registryHost,
          ...(spec.temperature === 'cold' ? { source: splitSource(spec.source) } : {}),
          log: ctx.log,
        });
        return { ...phases, ...measured };
      } finally {
        await removeTree(floors);
        await removeTree(work);
        if (spec.temperature === 'cold') await removeTree(cacheDir);
      }
    },
  };
}
