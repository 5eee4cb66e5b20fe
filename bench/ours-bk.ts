import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { removeTree } from '../test/helpers/upgradable.js';
import type { BenchContext, Contender, RoundOutcome } from './contender.js';
import { parsePhases, patchArgv, patchedLayer, type CopaSpec, type PatchedLayer } from './copa.js';
import { analyzeRegistryLayer } from './layer.js';
import { measure, tail, type Sample } from './measure.js';
import { withDaemon, type CopaGoEnv } from './peer.js';
import { clockTicks, cpuDelta, peakRssMiB, readProcStat, resetPeakRss, treeDetail } from './proc.js';

/**
 * Our CLI on its BuildKit engine (`copa-bk-*` rows): the same `node dist/cli/main.js patch … --push --json`
 * as the native rows plus `--addr unix://<socket>` of the buildkitd the bench starts for the original Copa
 * (bench/peer.ts copaGoEnv: same daemon, same config, same counting proxy). Measured as the original
 * Copa is: cold = `buildctl prune --all` (untimed) and a fresh --cache-dir; warm = the second of two runs on
 * one --cache-dir (the first, untimed, right before it: a cold row of the same daemon may have pruned in
 * between). CPU = our client's (GNU time) + buildkitd's over the run; peak RSS = client + buildkitd (as
 * for the original Copa), the client's alone (its target: ≤ 150 MiB) and the daemon's in the details.
 */

export type BkSpec = Omit<CopaSpec, 'image'> & { image?: string };

export function copaBkContender(spec: BkSpec, env: CopaGoEnv, ctx: BenchContext): Contender {
  const warmCache = join(ctx.workDir, `${spec.id}-cache`);
  const scratch = join(ctx.workDir, 'copa-bk-scratch');

  const once = async (
    cacheDir: string,
    target: string,
    extra: string[] = [],
  ): Promise<{ sample: Sample; detail: Record<string, number>; layer: PatchedLayer; stderr: string }> => {
    const { bk } = await env.ready();
    await mkdir(scratch, { recursive: true });
    const argv = patchArgv(ctx, spec, cacheDir, target, ['--addr', bk.addr, ...extra]);
    const before = await readProcStat(bk.pid);
    await resetPeakRss(bk.pid);
    const m = await measure(argv, { scratch, sampleTree: { extraRoots: [bk.pid] } });
    const after = await readProcStat(bk.pid);
    const peak = await peakRssMiB(bk.pid);
    if (m.code !== 0) {
      const saved = await ctx.keepLog(`${spec.id}-${target.replace(/[^\w.-]+/g, '_')}`, m.stderr);
      throw new Error(`${spec.label}: copa exited ${m.code} (full output: ${saved}):\n${tail(m.stderr)}`);
    }
    const layer = patchedLayer(m.stdout, spec.label);
    const both = withDaemon(m.sample, { ...cpuDelta(before, after, clockTicks()), peakRssMiB: peak });
    return {
      sample: both.sample,
      detail: { ...both.detail, ...treeDetail(m.tree) },
      layer,
      stderr: m.stderr,
    };
  };

  /** cold: the daemon pruned and a fresh cache dir; warm: one untimed run on the row's cache dir first */
  const prepareRun = async (name: string): Promise<{ cacheDir: string; done: () => Promise<void> }> => {
    const { bk } = await env.ready();
    if (spec.temperature === 'cold') {
      await bk.prune();
      const cacheDir = await mkdtemp(join(ctx.workDir, `${spec.id}-cold-`));
      return { cacheDir, done: () => removeTree(cacheDir) };
    }
    await once(warmCache, `${name}-warmup:patched`);
    return { cacheDir: warmCache, done: () => Promise.resolve() };
  };

  return {
    id: spec.id,
    label: spec.label,
    family: 'copa-bk',
    temperature: spec.temperature,
    image: spec.image ?? 'small',
    workload: spec.workload,
    prepare: async () => {
      await spec.ensure?.();
      await env.ready();
    },

    async round(n): Promise<RoundOutcome> {
      const repository = `bench/${spec.id}-r${n}`;
      const { cacheDir, done } = await prepareRun(repository);
      try {
        ctx.proxy.reset();
        const { sample, detail, layer } = await once(cacheDir, `${repository}:patched`);
        return {
          round: n,
          sample,
          traffic: ctx.proxy.traffic(),
          detail,
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
        await done();
      }
    },

    /** one extra --debug run (same temperature) for the phase timings; no floors beside them */
    async profile() {
      const name = `bench/${spec.id}-profile`;
      const { cacheDir, done } = await prepareRun(name);
      const work = await mkdtemp(join(ctx.workDir, 'copa-bk-debug-work-'));
      try {
        const { stderr } = await once(cacheDir, `${name}:patched`, ['--debug', '-w', work]);
        return parsePhases(stderr);
      } finally {
        await removeTree(work);
        await done();
      }
    },
  };
}
