import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManifestSchema, parseJson } from '../src/oci/schemas.js';
import { MANIFEST_ACCEPT } from '../src/oci/mediatypes.js';
import { run } from '../test/helpers/exec.js';
import { removeTree } from '../test/helpers/upgradable.js';
import type { BenchContext, Contender, RoundOutcome } from './contender.js';
import { analyzeRegistryLayer } from './layer.js';
import { measure, tail } from './measure.js';
import type { Temperature } from './stats.js';

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

export function buildahContender(temperature: Temperature, source: string, ctx: BenchContext): Contender {
  const id = `buildah-${temperature}`;
  const warmRoot = join(ctx.workDir, 'buildah-warm');
  const storage = (root: string): string[] => [
    '--root',
    join(root, 'storage'),
    '--runroot',
    join(root, 'run'),
  ];

  return {
    id,
    label: `buildah rebuild, ${temperature}`,
    family: 'buildah',
    temperature,
    image: 'small',

    async prepare() {
      if (temperature !== 'warm') return;
      await mkdir(warmRoot, { recursive: true });
      const src = `${ctx.proxyHost}/${source}`;
      await run('buildah', [
        ...storage(warmRoot),
        '--storage-driver',
        'vfs',
        'pull',
        '--quiet',
        '--tls-verify=false',
        src,
      ]);
    },

    async round(n): Promise<RoundOutcome> {
      const root = temperature === 'warm' ? warmRoot : await mkdtemp(join(ctx.workDir, 'buildah-cold-'));
      const repository = `bench/${id}-r${n}`;
      const digestFile = join(ctx.workDir, `${id}-r${n}.digest`);
      const argv = [
        'bash',
        '-c',
        SCRIPT,
        'bash',
        join(root, 'storage'),
        join(root, 'run'),
        `${ctx.proxyHost}/${source}`,
        `${ctx.proxyHost}/${repository}:patched`,
        digestFile,
        APT_UPGRADE,
      ];
      ctx.proxy.reset();
      try {
        const m = await measure(argv, { scratch: ctx.workDir });
        const traffic = ctx.proxy.traffic();
        if (m.code !== 0) {
          const saved = await ctx.keepLog(`${id}-r${n}`, `${m.stdout}\n${m.stderr}`);
          throw new Error(
            `${id}: buildah failed (exit ${m.code}, full output: ${saved}):\n${tail(m.stderr || m.stdout)}`,
          );
        }
        const digest = (await readFile(digestFile, 'utf8')).trim();
        const res = await fetch(`http://${ctx.registryHost}/v2/${repository}/manifests/${digest}`, {
          headers: { accept: MANIFEST_ACCEPT },
        });
        const manifest = parseJson(
          ManifestSchema,
          Buffer.from(await res.arrayBuffer()),
          `manifest ${repository}@${digest}`,
        );
        const last = manifest.layers.at(-1);
        if (!last) throw new Error(`${id}: pushed image has no layers`);
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
