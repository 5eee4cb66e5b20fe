import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../test/helpers/exec.js';
import { removeTree } from '../test/helpers/upgradable.js';
import type { BenchContext, Contender, RoundOutcome } from './contender.js';
import { analyzeRegistryLayer } from './layer.js';
import { measure, tail, type Measured, type Sample } from './measure.js';
import { lastPushedLayer } from './pushed.js';
import { perRunDetail, sumSamples, type Temperature } from './stats.js';
import type { W4Source } from './w4.js';

/**
 * The do-it-yourself rebuild: `buildah from`, `run apt-get update && apt-get upgrade -y && rm -rf
 * /var/lib/apt/lists/*`, `commit`, `push`, on the same image and registry (through the counting proxy).
 * vfs storage and chroot isolation (no daemon, no fuse, works as root anywhere). Cold = a fresh storage
 * root each round (the base image is pulled); warm = a storage root that already holds the base image.
 */

export const APT_UPGRADE = 'apt-get update && apt-get upgrade -y && rm -rf /var/lib/apt/lists/*';

/** $1 storage root, $2 run root, $3 source image, $4 destination, $5 digest file, $6 the apt command */
const SCRIPT = `set -eu
B="buildah --root $1 --runroot $2 --storage-driver vfs"
ctr=$($B from --quiet --tls-verify=false "$3")
$B run --isolation chroot --env DEBIAN_FRONTEND=noninteractive "$ctr" -- sh -c "$6"
$B commit --quiet "$ctr" bench-patched >/dev/null
$B push --quiet --tls-verify=false --digestfile "$5" bench-patched "docker://$4"
$B rm "$ctr" >/dev/null
$B rmi bench-patched >/dev/null`;

/** storage flags of a buildah root (vfs storage under root/storage, run root under root/run) */
function storage(root: string): string[] {
  return ['--root', join(root, 'storage'), '--runroot', join(root, 'run')];
}

/** `buildah pull` of `image` into the storage root (untimed: a warm root). */
export async function buildahPull(root: string, image: string): Promise<void> {
  await mkdir(root, { recursive: true });
  await run('buildah', [
    ...storage(root),
    '--storage-driver',
    'vfs',
    'pull',
    '--quiet',
    '--tls-verify=false',
    image,
  ]);
}

/**
 * One timed rebuild of `source` pushed to `destination` (both full references, through the proxy) in the
 * storage root; returns the measurement and the pushed manifest's digest. Throws on failure (output kept).
 */
export async function buildahRebuild(
  ctx: BenchContext,
  opts: { id: string; root: string; source: string; destination: string; digestFile: string },
): Promise<{ m: Measured; digest: string }> {
  const argv = [
    'bash',
    '-c',
    SCRIPT,
    'bash',
    join(opts.root, 'storage'),
    join(opts.root, 'run'),
    opts.source,
    opts.destination,
    opts.digestFile,
    APT_UPGRADE,
  ];
  const m = await measure(argv, { scratch: ctx.workDir });
  if (m.code !== 0) {
    const saved = await ctx.keepLog(opts.id, `${m.stdout}\n${m.stderr}`);
    throw new Error(
      `${opts.id}: buildah failed (exit ${m.code}, full output: ${saved}):\n${tail(m.stderr || m.stdout)}`,
    );
  }
  return { m, digest: (await readFile(opts.digestFile, 'utf8')).trim() };
}

export function buildahContender(temperature: Temperature, source: string, ctx: BenchContext): Contender {
  const id = `buildah-${temperature}`;
  const warmRoot = join(ctx.workDir, 'buildah-warm');

  return {
    id,
    label: `buildah rebuild, ${temperature}`,
    family: 'buildah',
    temperature,
    image: 'small',

    async prepare() {
      if (temperature === 'warm') await buildahPull(warmRoot, `${ctx.proxyHost}/${source}`);
    },

    async round(n): Promise<RoundOutcome> {
      const root = temperature === 'warm' ? warmRoot : await mkdtemp(join(ctx.workDir, 'buildah-cold-'));
      const repository = `bench/${id}-r${n}`;
      ctx.proxy.reset();
      try {
        const { m, digest } = await buildahRebuild(ctx, {
          id: `${id}-r${n}`,
          root,
          source: `${ctx.proxyHost}/${source}`,
          destination: `${ctx.proxyHost}/${repository}:patched`,
          digestFile: join(ctx.workDir, `${id}-r${n}.digest`),
        });
        const traffic = ctx.proxy.traffic();
        const last = await lastPushedLayer(ctx.registryHost, repository, digest);
        // the uncompressed size is not in the manifest: read the blob (untimed)
        const content = await analyzeRegistryLayer(ctx.registryHost, repository, last.digest, ctx.upgradable);
        return {
          round: n,
          sample: m.sample,
          traffic,
          layer: { compressed: last.size, uncompressed: content.uncompressed },
          inspect: () => Promise.resolve(content),
        };
      } finally {
        if (temperature === 'cold') await removeTree(root);
      }
    },
  };
}

/**
 * W4 by rebuilding: each of the ten tags rebuilt one after the other in one fresh storage root per round
 * (cold: the shared base is pulled with the first tag and found in storage by the others), summed.
 */
export function buildahW4Contender(w4: W4Source, ctx: BenchContext): Contender {
  const id = 'buildah-w4-cold';
  const { repository: source, tags } = w4;
  return {
    id,
    label: `W4 buildah rebuild × ${tags.length} tags, cold, summed`,
    family: 'buildah',
    temperature: 'cold',
    image: 'w4',
    workload: 'w4',
    prepare: () => w4.ensure(),

    async round(n): Promise<RoundOutcome> {
      const root = await mkdtemp(join(ctx.workDir, 'buildah-w4-'));
      const repository = `bench/${id}-r${n}/w4`;
      ctx.proxy.reset();
      try {
        const samples: Sample[] = [];
        let first: string | undefined;
        for (const tag of tags) {
          const { m, digest } = await buildahRebuild(ctx, {
            id: `${id}-r${n}-${tag}`,
            root,
            source: `${ctx.proxyHost}/${source}:${tag}`,
            destination: `${ctx.proxyHost}/${repository}:${tag}-patched`,
            digestFile: join(ctx.workDir, `${id}-r${n}-${tag}.digest`),
          });
          samples.push(m.sample);
          first ??= digest;
        }
        const traffic = ctx.proxy.traffic();
        const last = await lastPushedLayer(ctx.registryHost, repository, first ?? '');
        const content = await analyzeRegistryLayer(ctx.registryHost, repository, last.digest, ctx.upgradable);
        return {
          round: n,
          sample: sumSamples(samples),
          traffic,
          layer: { compressed: last.size, uncompressed: content.uncompressed },
          detail: perRunDetail(samples),
          inspect: () => Promise.resolve(content),
        };
      } finally {
        await removeTree(root);
      }
    },
  };
}
