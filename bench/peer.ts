import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeTree } from '../test/helpers/upgradable.js';
import { startBuildkit, sourcePolicy, type Buildkit, type PeerPaths } from './buildkit.js';
import { bulkConfig } from './bulk.js';
import type { BenchContext, Contender, RoundOutcome } from './contender.js';
import { measure, tail, type Measured, type Sample } from './measure.js';
import { clockTicks, cpuDelta, peakRssMiB, readProcStat, resetPeakRss, treeDetail } from './proc.js';
import { inspectAddedLayers } from './pushed.js';
import type { Temperature } from './stats.js';
import { checkW4Push, w4Spec, type W4Source } from './w4.js';

/**
 * The original Copa (v0.14.2, a Go binary the user gives) as a peer: `copa patch … --push --addr unix://…`
 * on a buildkitd the bench starts (bench/buildkit.ts), through the same counting proxy. Its Debian tooling
 * image is served from the bench's registry by a BuildKit source policy. Cold = `buildctl prune --all`
 * before the run; warm = the second of two runs (the first, untimed, right before it: a cold row of the
 * same daemon may have pruned in between). CPU = the client's (GNU time) + buildkitd's, its reaped children
 * included (utime+stime+cutime+cstime from /proc/PID/stat before and after); peak RSS = the client's peak
 * + buildkitd's own peak (VmHWM, reset before the run); Σ tree RSS samples both process trees.
 */

export interface CopaGoEnv {
  paths: PeerPaths;
  /** tooling image pushed, policy written, buildkitd running (once) */
  ready(): Promise<{ bk: Buildkit; policyFile: string }>;
  /** stop buildkitd if it was started */
  stop(): Promise<void>;
}

/** `tooling`: pushes the tooling image once (bench/tooling.ts toolingSource) and gives its reference. */
export function copaGoEnv(paths: PeerPaths, ctx: BenchContext, tooling: () => Promise<string>): CopaGoEnv {
  const dir = join(ctx.workDir, 'copa-go');
  let started: Promise<{ bk: Buildkit; policyFile: string }> | undefined;
  const start = async (): Promise<{ bk: Buildkit; policyFile: string }> => {
    const target = await tooling();
    await mkdir(dir, { recursive: true });
    const policyFile = join(dir, 'source-policy.json');
    await writeFile(policyFile, JSON.stringify(sourcePolicy(target), null, 2) + '\n');
    const bk = await startBuildkit({
      paths,
      dir: join(dir, 'buildkit'),
      insecureRegistries: [ctx.proxyHost, ctx.registryHost],
      log: ctx.log,
    });
    return { bk, policyFile };
  };
  return {
    paths,
    ready: () => (started ??= start()),
    async stop() {
      if (!started) return;
      const s = await started.catch(() => undefined);
      await s?.bk.stop();
    },
  };
}

/** The client's sample plus the daemon's CPU time and peak RSS over the same run (pure). */
export function withDaemon(
  client: Sample,
  daemon: { userS: number; sysS: number; peakRssMiB: number },
): { sample: Sample; detail: Record<string, number> } {
  const r2 = (n: number): number => Math.round(n * 100) / 100;
  const userS = r2(client.userS + daemon.userS);
  const sysS = r2(client.sysS + daemon.sysS);
  return {
    sample: {
      ...client,
      userS,
      sysS,
      cpuS: r2(client.cpuS + daemon.userS + daemon.sysS),
      rssMiB: r2(client.rssMiB + daemon.peakRssMiB),
    },
    detail: {
      'client CPU s': client.cpuS,
      'buildkitd CPU s': r2(daemon.userS + daemon.sysS),
      'client peak RSS MiB': client.rssMiB,
      'buildkitd peak RSS MiB': daemon.peakRssMiB,
    },
  };
}

async function runCopaGo(
  env: CopaGoEnv,
  ctx: BenchContext,
  args: readonly string[],
  what: string,
): Promise<{ m: Measured; sample: Sample; detail: Record<string, number> }> {
  const { bk, policyFile } = await env.ready();
  const scratch = await mkdtemp(join(ctx.workDir, 'copa-go-run-'));
  try {
    const argv = [
      env.paths.copa,
      'patch',
      ...args,
      '--push',
      '--addr',
      bk.addr,
      '--timeout',
      '60m',
      '--progress',
      'plain',
      // Copa creates it (an existing folder is refused)
      '--working-folder',
      join(scratch, 'work'),
    ];
    const before = await readProcStat(bk.pid);
    await resetPeakRss(bk.pid);
    const m = await measure(argv, {
      scratch,
      env: { ...process.env, EXPERIMENTAL_BUILDKIT_SOURCE_POLICY: policyFile },
      sampleTree: { extraRoots: [bk.pid] },
    });
    const after = await readProcStat(bk.pid);
    const peak = await peakRssMiB(bk.pid);
    if (m.code !== 0) {
      const saved = await ctx.keepLog(what.replace(/[^\w.-]+/g, '_'), `${m.stdout}\n${m.stderr}`);
      throw new Error(
        `${what}: copa v0.14.2 exited ${m.code} (full output: ${saved}):\n${tail(m.stderr || m.stdout)}`,
      );
    }
    const both = withDaemon(m.sample, { ...cpuDelta(before, after, clockTicks()), peakRssMiB: peak });
    return { m, sample: both.sample, detail: { ...both.detail, ...treeDetail(m.tree) } };
  } finally {
    await removeTree(scratch);
  }
}

export interface CopaGoSpec {
  id: string;
  label: string;
  temperature: Temperature;
  workload: string;
  /** repository:tag in the registry */
  source: string;
  /** Trivy report; undefined = update-all */
  report?: string;
  /** default `small` */
  image?: string;
  /** more `copa patch` flags (e.g. --ignore-errors) */
  extraArgs?: string[];
  /** the source pushed, once; called before the first run */
  ensure?: () => Promise<void>;
  /** packages for the new layer's Installed-Size check (default: the Debian fixture's) */
  upgradable?: string[];
}

/** The original Copa on one image (W1 with a report, W2 update-all, W3 distroless). */
export function copaGoContender(spec: CopaGoSpec, env: CopaGoEnv, ctx: BenchContext): Contender {
  const once = (target: string) =>
    runCopaGo(
      env,
      ctx,
      [
        '-i',
        `${ctx.proxyHost}/${spec.source}`,
        ...(spec.report ? ['-r', spec.report] : []),
        '-t',
        `${ctx.proxyHost}/${target}`,
        ...(spec.extraArgs ?? []),
      ],
      `${spec.id} ${target}`,
    );
  return {
    id: spec.id,
    label: spec.label,
    family: 'copa-go',
    temperature: spec.temperature,
    image: spec.image ?? 'small',
    workload: spec.workload,
    prepare: async () => {
      await spec.ensure?.();
      await env.ready();
    },

    async round(n): Promise<RoundOutcome> {
      const { bk } = await env.ready();
      const repository = `bench/${spec.id}-r${n}`;
      if (spec.temperature === 'cold') await bk.prune();
      else await once(`${repository}-warmup:patched`);
      ctx.proxy.reset();
      const { sample, detail } = await once(`${repository}:patched`);
      const traffic = ctx.proxy.traffic();
      const colon = spec.source.lastIndexOf(':');
      const read = await inspectAddedLayers(
        ctx.registryHost,
        { repository, reference: 'patched' },
        { repository: spec.source.slice(0, colon), reference: spec.source.slice(colon + 1) },
        spec.upgradable ?? ctx.upgradable,
      );
      return {
        round: n,
        sample,
        traffic,
        detail: { ...detail, 'new layers': read.layers },
        ...(read.layer ? { layer: read.layer } : {}),
        ...(read.content
          ? { inspect: () => Promise.resolve(read.content as NonNullable<typeof read.content>) }
          : {}),
      };
    },
  };
}

/** W4 with the original Copa: one `copa patch --config` run over the ten tags, cold (pruned first). */
export function copaGoW4Contender(env: CopaGoEnv, ctx: BenchContext, source: W4Source): Contender {
  const id = 'copa-go-w4-bulk-cold';
  const label = `W4 bulk, ${source.tags.length} tags: Copa v0.14.2 --config, cold`;
  return {
    id,
    label,
    family: 'copa-go',
    temperature: 'cold',
    image: 'w4',
    workload: 'w4',
    prepare: async () => {
      await source.ensure();
      await env.ready();
    },

    async round(n): Promise<RoundOutcome> {
      const { bk } = await env.ready();
      const spec = w4Spec(ctx, source, `bench/${id}-r${n}`);
      const config = join(ctx.workDir, `${id}-r${n}.yaml`);
      await writeFile(config, bulkConfig(spec));
      await bk.prune();
      ctx.proxy.reset();
      const { sample, detail } = await runCopaGo(env, ctx, ['--config', config], `${id}-r${n}`);
      const traffic = ctx.proxy.traffic();
      const { newLayers, ...pushed } = await checkW4Push(ctx, spec, label);
      return {
        round: n,
        sample,
        traffic,
        detail: { ...detail, 'new layers per image': newLayers },
        ...pushed,
      };
    },
  };
}
