import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PRIVATE_NAMESPACE, unpackLayout } from '../test/helpers/fixtures.js';
import { removeTree } from '../test/helpers/upgradable.js';
import type { BenchContext, Contender, RoundOutcome } from './contender.js';
import { analyzeLayerFile } from './layer.js';
import { measure, tail } from './measure.js';
import type { Temperature } from './stats.js';

/**
 * The physical floor of a patch: the same apt command in an image tree that is already extracted (done once,
 * untimed), plus `tar | gzip` of what it changed. dpkg runs with --force-unsafe-io, as in copa (a floor
 * that waits for fsync would flatter copa by 1–2 s). The changes are caught with an overlay: the extracted
 * tree is the lowerdir, each round gets a fresh upperdir, and the upperdir is the layer (tarred as is by GNU
 * tar: whiteouts stay 0/0 character devices). Everything runs in a private mount + pid namespace.
 * Cold = the whole command (apt lists and .debs downloaded, lists removed after); warm = /var/lib/apt/lists
 * and /var/cache/apt bind-mounted from a cache filled by an untimed run (what copa does), so only
 * `apt-get update && apt-get upgrade -y` runs and the bound directories never reach the upperdir.
 */

/** buildah's command, with dpkg's --force-unsafe-io as copa uses it: the floor is the work, not fsync */
const UPGRADE = 'apt-get upgrade -y -o Dpkg::Options::=--force-unsafe-io';
export const FLOOR_COLD = `apt-get update && ${UPGRADE} && rm -rf /var/lib/apt/lists/*`;
export const FLOOR_WARM = `apt-get update && ${UPGRADE}`;

const CHROOT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** $1 lower, $2 upper, $3 overlay work, $4 merged, $5 output prefix, $6 command, [$7 apt lists dir, $8 apt cache dir] */
const SCRIPT = `set -euo pipefail
lower=$1 upper=$2 work=$3 r=$4 out=$5 cmd=$6
t0=$(date +%s.%N)
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work,redirect_dir=off,metacopy=off,index=off" "$r"
mount -t tmpfs -o mode=0755,nosuid dev "$r/dev"
for d in null zero full random urandom tty; do : > "$r/dev/$d"; mount --bind "/dev/$d" "$r/dev/$d"; done
mkdir -p "$r/dev/pts" "$r/dev/shm"
ln -s /proc/self/fd "$r/dev/fd"
mount -t proc proc "$r/proc"
mount --bind /etc/resolv.conf "$r/etc/resolv.conf"
if [ $# -ge 8 ]; then
  mount --bind "$7" "$r/var/lib/apt/lists"
  mount --bind "$8" "$r/var/cache/apt"
fi
chroot "$r" /usr/bin/env -i ${CHROOT_PATH} HOME=/root LC_ALL=C DEBIAN_FRONTEND=noninteractive sh -c "$cmd"
t1=$(date +%s.%N)
tar --create --sort=name --numeric-owner --totals -C "$upper" . 2>"$out.totals" | gzip > "$out.tar.gz"
echo "$t0 $t1 $(date +%s.%N)" > "$out.times"`;

/** The three timestamps the script writes -> its phases, in seconds. */
/** Fresh upper, work and merged dirs of one overlay round under `dir`. */
export async function overlayDirs(dir: string): Promise<{ upper: string; work: string; merged: string }> {
  const [upper, work, merged] = ['upper', 'work', 'merged'].map((d) => join(dir, d)) as [
    string,
    string,
    string,
  ];
  for (const d of [upper, work, merged]) await mkdir(d, { recursive: true });
  return { upper, work, merged };
}

export function parseFloorTimes(text: string): Record<string, number> {
  const [t0, t1, t2] = text.trim().split(/\s+/).map(Number);
  if (
    t0 === undefined ||
    t1 === undefined ||
    t2 === undefined ||
    [t0, t1, t2].some((t) => !Number.isFinite(t))
  ) {
    throw new Error(`bad floor timestamps: ${JSON.stringify(text)}`);
  }
  const r2 = (n: number): number => Math.round(n * 100) / 100;
  return { 'apt-get (mounts, update, upgrade)': r2(t1 - t0), 'layer (tar | gzip)': r2(t2 - t1) };
}

/** GNU tar's `--totals` line -> bytes. */
export function parseTarTotals(text: string): number {
  const m = /Total bytes written: (\d+)/.exec(text);
  if (!m?.[1])
    throw new Error(`no "Total bytes written" in tar output: ${JSON.stringify(text.slice(0, 200))}`);
  return Number(m[1]);
}

export function floorContender(
  temperature: Temperature,
  layout: { layoutDir: string; refName: string },
  ctx: BenchContext,
): Contender {
  const id = `floor-${temperature}`;
  const base = join(ctx.workDir, 'floor');
  const lower = join(base, 'rootfs');
  const lists = join(base, 'apt-lists');
  const aptCache = join(base, 'apt-cache');

  const once = async (name: string): Promise<RoundOutcome> => {
    const dir = join(base, name);
    const { upper, work, merged } = await overlayDirs(dir);
    const out = join(dir, 'layer');
    const cache = temperature === 'warm' ? [lists, aptCache] : [];
    const cmd = temperature === 'warm' ? FLOOR_WARM : FLOOR_COLD;
    const argv = [
      ...PRIVATE_NAMESPACE,
      'bash',
      '-c',
      SCRIPT,
      'bash',
      lower,
      upper,
      work,
      merged,
      out,
      cmd,
      ...cache,
    ];
    try {
      const m = await measure(argv, { scratch: ctx.workDir });
      if (m.code !== 0) {
        const saved = await ctx.keepLog(`${id}-${name}`, `${m.stdout}\n${m.stderr}`);
        throw new Error(
          `${id}: the apt command failed (exit ${m.code}, full output: ${saved}):\n${tail(m.stderr || m.stdout)}`,
        );
      }
      const uncompressed = parseTarTotals(await readFile(`${out}.totals`, 'utf8'));
      const compressed = (await stat(`${out}.tar.gz`)).size;
      const content = await analyzeLayerFile(`${out}.tar.gz`, ctx.upgradable);
      const phases = parseFloorTimes(await readFile(`${out}.times`, 'utf8'));
      return {
        phases,
        round: 0,
        sample: m.sample,
        traffic: { pulled: 0, pushed: 0, requests: 0 },
        layer: { compressed, uncompressed },
        inspect: () => Promise.resolve(content),
      };
    } finally {
      await removeTree(dir);
    }
  };

  return {
    id,
    label: `floor (apt in a chroot + gzip), ${temperature}`,
    family: 'floor',
    temperature,
    image: 'small',

    async prepare() {
      await stat(join(lower, 'etc')).catch(async () => {
        await mkdir(base, { recursive: true });
        await unpackLayout(layout.layoutDir, layout.refName, lower);
        // mount points belong to the extracted tree, not to the measured changes
        for (const d of ['dev', 'proc']) await mkdir(join(lower, d), { recursive: true });
      });
      if (temperature === 'warm') {
        for (const d of [join(lists, 'partial'), join(aptCache, 'archives/partial')])
          await mkdir(d, { recursive: true });
        await once('warmup');
      }
    },

    async round(n) {
      return { ...(await once(`r${n}`)), round: n };
    },
  };
}
