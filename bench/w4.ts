import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { removeTree } from '../test/helpers/upgradable.js';
import { bulkConfig, bulkProblem, bulkTargets, BulkSummary, repositoryPath, type BulkSpec } from './bulk.js';
import type { BenchContext, Contender, RoundOutcome } from './contender.js';
import { measure, tail, type Sample } from './measure.js';
import { inspectAddedLayers, missingManifests } from './pushed.js';
import { treeDetail, type TreePeak } from './proc.js';
import { perRunDetail, sumSamples } from './stats.js';

/**
 * W4 with our CLI, cold (a fresh --cache-dir): (a) one bulk run over a PatchConfig listing the ten tags;
 * (b) ten separate `patch -i … -t …` runs one after the other, each with its own fresh --cache-dir, summed
 * (wall and CPU add up, the peak RSS is the largest run's). Both sample Σ RSS of the process tree.
 */

export interface W4Source {
  /** repository of the ten tags in the registry, e.g. bench/w4 */
  repository: string;
  tags: readonly string[];
  /** pushes the W4 images once (shared by the W4 contenders) */
  ensure(): Promise<void>;
}

const SinglePatch = z.looseObject({ status: z.string() });

export function w4Spec(ctx: BenchContext, source: W4Source, targetPath: string): BulkSpec {
  return {
    name: 'w4',
    image: `${ctx.proxyHost}/${source.repository}`,
    tags: source.tags,
    targetRegistry: `${ctx.proxyHost}/${targetPath}`,
  };
}

/** After a W4 run: every target is in the registry; the first one's new layer read back (untimed). */
export async function checkW4Push(
  ctx: BenchContext,
  spec: BulkSpec,
  label: string,
): Promise<Pick<RoundOutcome, 'layer' | 'inspect'> & { newLayers: number }> {
  const targets = bulkTargets(spec).map((t) => ({ repository: repositoryPath(t.repository), tag: t.tag }));
  const missing = await missingManifests(ctx.registryHost, targets);
  if (missing.length > 0)
    throw new Error(
      `${label}: ${missing.length} of ${targets.length} targets not pushed: ${missing.join(', ')}`,
    );
  const first = targets[0];
  if (!first) return { newLayers: 0 };
  const read = await inspectAddedLayers(
    ctx.registryHost,
    { repository: first.repository, reference: first.tag },
    { repository: repositoryPath(spec.image), reference: spec.tags[0] ?? '' },
    ctx.upgradable,
  );
  return {
    newLayers: read.layers,
    ...(read.layer ? { layer: read.layer } : {}),
    ...(read.content
      ? { inspect: () => Promise.resolve(read.content as NonNullable<typeof read.content>) }
      : {}),
  };
}

export function copaW4BulkContender(ctx: BenchContext, source: W4Source): Contender {
  const id = 'copa-w4-bulk-cold';
  const label = `W4 bulk, ${source.tags.length} tags: one --config run, cold`;
  return {
    id,
    label,
    family: 'copa',
    temperature: 'cold',
    image: 'w4',
    workload: 'w4',
    prepare: () => source.ensure(),

    async round(n): Promise<RoundOutcome> {
      const spec = w4Spec(ctx, source, `bench/${id}-r${n}`);
      const dir = await mkdtemp(join(ctx.workDir, `${id}-`));
      const config = join(dir, 'w4.yaml');
      await writeFile(config, bulkConfig(spec));
      const cacheDir = join(dir, 'cache');
      ctx.proxy.reset();
      try {
        const argv = [
          process.execPath,
          ctx.cli,
          'patch',
          '--config',
          config,
          '--push',
          '--cache-dir',
          cacheDir,
          '--timeout',
          '60m',
          '--json',
        ];
        const m = await measure(argv, { scratch: dir, sampleTree: {} });
        const traffic = ctx.proxy.traffic();
        if (m.code !== 0) {
          const saved = await ctx.keepLog(`${id}-r${n}`, `${m.stdout}\n${m.stderr}`);
          throw new Error(`${label}: copa exited ${m.code} (full output: ${saved}):\n${tail(m.stderr)}`);
        }
        let summary: BulkSummary;
        try {
          summary = BulkSummary.parse(JSON.parse(m.stdout));
        } catch (e) {
          throw new Error(
            `${label}: unreadable --json summary (${(e as Error).message}): ${m.stdout.slice(0, 300)}`,
            {
              cause: e,
            },
          );
        }
        const problem = bulkProblem(summary, source.tags.length);
        if (problem) throw new Error(`${label}: ${problem}`);
        const { newLayers, ...pushed } = await checkW4Push(ctx, spec, label);
        return {
          round: n,
          sample: m.sample,
          traffic,
          detail: { 'new layers per image': newLayers, ...treeDetail(m.tree) },
          ...pushed,
        };
      } finally {
        await removeTree(dir);
      }
    },
  };
}

export function copaW4SeparateContender(ctx: BenchContext, source: W4Source): Contender {
  const id = 'copa-w4-separate-cold';
  const label = `W4 as ${source.tags.length} separate runs, cold, summed`;
  return {
    id,
    label,
    family: 'copa',
    temperature: 'cold',
    image: 'w4',
    workload: 'w4',
    prepare: () => source.ensure(),

    async round(n): Promise<RoundOutcome> {
      const spec = w4Spec(ctx, source, `bench/${id}-r${n}`);
      const scratch = join(ctx.workDir, 'copa-scratch');
      await mkdir(scratch, { recursive: true });
      ctx.proxy.reset();
      const samples: Sample[] = [];
      let biggest: TreePeak | undefined;
      for (const t of bulkTargets(spec)) {
        const cacheDir = await mkdtemp(join(ctx.workDir, `${id}-cache-`));
        try {
          const argv = [
            process.execPath,
            ctx.cli,
            'patch',
            '-i',
            t.source,
            '--push',
            '-t',
            `${t.repository}:${t.tag}`,
            '--cache-dir',
            cacheDir,
            '--timeout',
            '60m',
            '--json',
          ];
          const m = await measure(argv, { scratch, sampleTree: {} });
          if (m.code !== 0) {
            const saved = await ctx.keepLog(`${id}-r${n}-${t.tag}`, `${m.stdout}\n${m.stderr}`);
            throw new Error(
              `${label}: copa exited ${m.code} on ${t.source} (full output: ${saved}):\n${tail(m.stderr)}`,
            );
          }
          const out = SinglePatch.safeParse(JSON.parse(m.stdout));
          if (!out.success || out.data.status !== 'Patched')
            throw new Error(`${label}: ${t.source} not patched: ${m.stdout.slice(0, 300)}`);
          samples.push(m.sample);
          if (m.tree && m.tree.rssMiB > (biggest?.rssMiB ?? -1)) biggest = m.tree;
        } finally {
          await removeTree(cacheDir);
        }
      }
      const traffic = ctx.proxy.traffic();
      const { newLayers, ...pushed } = await checkW4Push(ctx, spec, label);
      return {
        round: n,
        sample: sumSamples(samples),
        traffic,
        detail: { ...perRunDetail(samples), 'new layers per image': newLayers, ...treeDetail(biggest) },
        ...pushed,
      };
    },
  };
}
