import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { run } from '../test/helpers/exec.js';
import { PRIVATE_NAMESPACE, unpackLayout } from '../test/helpers/fixtures.js';
import { removeTree } from '../test/helpers/upgradable.js';
import type { BenchContext, Contender, RoundOutcome } from './contender.js';
import { analyzeLayerFile } from './layer.js';
import { measure, tail } from './measure.js';
import { GZ6 } from './w6-targets.js';
import { overlayDirs } from './floor.js';

/**
 * The floors of W6: the plain package-manager command in an image tree extracted once (untimed), chrooted
 * over an overlay whose fresh upperdir per round catches exactly the files it changed. Only the command is
 * timed (wall from the script's own clock around the chroot; CPU from GNU time of the namespace, whose
 * mounts cost milliseconds). /tmp is a tmpfs (as in copa's sandbox), so caches and tarballs stay out.
 * The changed files are then tarred and gzipped at level 1 (and 6, for reference), untimed.
 */

export interface W6FloorSpec {
  id: string;
  label: string;
  image: string;
  /** OCI layout + ref of the image */
  layout: () => Promise<{ layoutDir: string; refName: string }>;
  /** the shell command run in the chroot */
  command: string;
  /** extra NAME=value for the chroot's environment */
  env: () => string[];
}

const CHROOT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** $1 lower, $2 upper, $3 overlay work, $4 merged, $5 times file, $6 command, $7… NAME=value */
const SCRIPT = `set -euo pipefail
lower=$1 upper=$2 work=$3 r=$4 times=$5 cmd=$6; shift 6
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work,redirect_dir=off,metacopy=off,index=off" "$r"
mount -t tmpfs -o mode=0755,nosuid dev "$r/dev"
for d in null zero full random urandom tty; do : > "$r/dev/$d"; mount --bind "/dev/$d" "$r/dev/$d"; done
ln -s /proc/self/fd "$r/dev/fd"
mount -t proc proc "$r/proc"
mount -t tmpfs -o mode=1777 tmp "$r/tmp"
cp /etc/ssl/certs/ca-certificates.crt "$r/tmp/host-ca.pem"
mount --bind /etc/resolv.conf "$r/etc/resolv.conf"
t0=$(date +%s.%N)
chroot "$r" /usr/bin/env -i ${CHROOT_PATH} HOME=/tmp LC_ALL=C "$@" sh -c "$cmd"
echo "$t0 $(date +%s.%N)" > "$times"`;

/** `npm pack` of every new version, then each old directory replaced the way src/langmgr/node/site.ts does. */
const REPLACE =
  'rep() { rm -rf /tmp/s; mkdir /tmp/s; tar -xzof "$1" -C /tmp/s; o=$(stat -c %u:%g "$2"); chown -R "$o" /tmp/s/package; ' +
  'find "$2" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +; cp -Rp /tmp/s/package/. "$2/"; }';

/** The lock files of the app get the new version, integrity and resolved URL (argv: npm pack --json output, app dir, key=name…). */
export const LOCK_JS =
  'const fs=require("fs");const [pf,dir,...edits]=process.argv.slice(1);' +
  'const packs=JSON.parse(fs.readFileSync(pf,"utf8"));' +
  'for(const f of [dir+"/package-lock.json",dir+"/node_modules/.package-lock.json"]){if(!fs.existsSync(f))continue;' +
  'const j=JSON.parse(fs.readFileSync(f,"utf8"));for(const e of edits){const [k,n]=e.split("=");' +
  'const p=packs.find((x)=>x.name===n);const v=(j.packages||{})[k];if(!p||!v)continue;' +
  'if(v.resolved)v.resolved=v.resolved.replace(v.version,p.version);v.version=p.version;v.integrity=p.integrity;}' +
  'fs.writeFileSync(f,JSON.stringify(j,null,2)+"\\n");}';

export interface NodeTarget {
  name: string;
  to: string;
  /** Trivy PkgPath of the copy's package.json */
  path: string;
}

const r2 = (n: number): number => Math.round(n * 100) / 100;
const q = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/** The plain equivalent of our node manager: one `npm pack`, tar over the old dirs, lock files edited. */
export function nodeFloorCommand(libs: readonly NodeTarget[]): string {
  const specs = libs.map((l) => q(`${l.name}@${l.to}`)).join(' ');
  const lines = ['set -e', 'cd /tmp', `npm pack --json ${specs} > /tmp/packs.json`, REPLACE];
  const locks = new Map<string, string[]>();
  for (const l of libs) {
    const dir = dirname(l.path);
    lines.push(`rep ${q(`/tmp/${l.name.replace(/^@/, '').replace('/', '-')}-${l.to}.tgz`)} ${q(`/${dir}`)}`);
    const i = dir.indexOf('/node_modules/');
    const app = i < 0 ? '' : dir.slice(0, i);
    if (app === '' || app.startsWith('usr/')) continue;
    locks.set(app, [...(locks.get(app) ?? []), `${dir.slice(app.length + 1)}=${l.name}`]);
  }
  for (const [app, edits] of locks)
    lines.push(`node -e ${q(LOCK_JS)} /tmp/packs.json ${q(`/${app}`)} ${edits.map(q).join(' ')}`);
  return lines.join('\n');
}

export function w6FloorContender(spec: W6FloorSpec, ctx: BenchContext): Contender {
  const base = join(ctx.workDir, spec.id);
  const lower = join(base, 'rootfs');

  const once = async (name: string): Promise<RoundOutcome> => {
    const dir = join(base, name);
    const { upper, work, merged } = await overlayDirs(dir);
    const times = join(dir, 'times');
    const argv = [...PRIVATE_NAMESPACE, 'bash', '-c', SCRIPT, 'bash', lower, upper, work, merged, times];
    try {
      const m = await measure([...argv, spec.command, ...spec.env()], { scratch: ctx.workDir });
      if (m.code !== 0) {
        const saved = await ctx.keepLog(`${spec.id}-${name}`, `${m.stdout}\n${m.stderr}`);
        throw new Error(
          `${spec.id}: the command failed (exit ${m.code}, full output: ${saved}):\n${tail(m.stderr || m.stdout)}`,
        );
      }
      const [t0 = NaN, t1 = NaN] = (await readFile(times, 'utf8')).trim().split(/\s+/).map(Number);
      const commandS = r2(t1 - t0);
      if (!Number.isFinite(commandS)) throw new Error(`${spec.id}: no timestamps`);
      // untimed: the changed files as a layer
      const tarFile = join(dir, 'changes.tar');
      await run('tar', ['--create', '--file', tarFile, '--sort=name', '--numeric-owner', '-C', upper, '.']);
      const raw = await readFile(tarFile);
      const gz1 = gzipSync(raw, { level: 1 });
      const gzFile = join(base, `${name}.tar.gz`);
      await writeFile(gzFile, gz1);
      const gz6 = gzipSync(raw, { level: 6 }).length;
      return {
        round: 0,
        sample: { ...m.sample, wallS: commandS },
        traffic: { pulled: 0, pushed: 0, requests: 0 },
        layer: { compressed: gz1.length, uncompressed: raw.length },
        detail: { [GZ6]: Math.round(gz6 / 102.4) / 10 },
        phases: { 'command (chrooted)': commandS, 'namespace + mounts': r2(m.sample.wallS - commandS) },
        inspect: () => analyzeLayerFile(gzFile),
      };
    } finally {
      await removeTree(dir);
    }
  };

  return {
    id: spec.id,
    label: spec.label,
    family: 'floor',
    temperature: 'warm',
    image: spec.image,
    workload: 'w6',

    async prepare() {
      await stat(join(lower, 'etc')).catch(async () => {
        await mkdir(base, { recursive: true });
        const { layoutDir, refName } = await spec.layout();
        await unpackLayout(layoutDir, refName, lower);
        // mount points belong to the extracted tree, not to the measured changes
        for (const d of ['dev', 'proc', 'tmp']) await mkdir(join(lower, d), { recursive: true });
        await writeFile(join(lower, 'etc/resolv.conf'), '', { flag: 'a' });
      });
    },

    async round(n) {
      return { ...(await once(`r${n}`)), round: n };
    },
  };
}
