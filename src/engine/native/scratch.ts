/**
 * Where the overlay's upper and work dirs go. The package managers' writes land there: on a disk filesystem
 * (ext4) dpkg's unpack-and-rename of every file costs about twice the time it takes on a tmpfs, so the upper
 * dir goes into memory (a dir under /dev/shm) when there is clearly room for it, and stays in the run's work
 * dir otherwise. $COPA_SCRATCH picks: `auto` (default), `memory` or `disk`.
 *
 * The memory dir is named like a work dir (`copa-run-<pid>-ns<pid namespace>-…`), and the work dir holds a
 * `scratch` symlink to it, so removing or keeping the work dir finds it; a crashed run's memory dir is removed
 * by the next run that looks there, as its work dir is.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readlink, rm, statfs, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { CopaError } from '../../errors.js';
import { inUserNamespace } from '../../layers/ovl.js';
import type { Logger } from '../../log.js';
import { removeLeftoverRuns } from './leftovers.js';

const TMPFS_MAGIC = 0x01021994;
const MiB = 1024 * 1024;
/** the least a memory upper dir is sized for, whatever the image */
const MIN_NEED = 256 * MiB;
const LINK = 'scratch';

export type ScratchMode = 'auto' | 'memory' | 'disk';

export function scratchMode(env: NodeJS.ProcessEnv = process.env): ScratchMode {
  const raw = (env.COPA_SCRATCH ?? '').trim() || 'auto';
  if (raw === 'auto' || raw === 'memory' || raw === 'disk') return raw;
  throw new CopaError('USAGE', `COPA_SCRATCH: expected auto, memory or disk, got ${JSON.stringify(raw)}`, {
    hint: 'unset it (auto: in memory when there is room) or set COPA_SCRATCH=disk',
  });
}

export interface ScratchFacts {
  mode: ScratchMode;
  /** the memory dir's filesystem is a tmpfs */
  tmpfs: boolean;
  /** free bytes on it */
  free: number;
  /** MemAvailable */
  memAvailable: number;
  /** memory.max − memory.current of this process's cgroup (undefined: no limit) */
  cgroupHeadroom: number | undefined;
  /** rootless (a user namespace): overlayfs there needs user xattrs, which older kernels' tmpfs lacks */
  userns: boolean;
  /** what the changes may take: the image's uncompressed size, at least MIN_NEED */
  need: number;
}

/** Memory or disk for the upper dir, and why (pure). Memory needs twice `need` free on every count. */
export function chooseScratch(f: ScratchFacts): { inMemory: boolean; why: string } {
  if (f.mode === 'disk') return { inMemory: false, why: 'COPA_SCRATCH=disk' };
  if (f.mode === 'memory') return { inMemory: true, why: 'COPA_SCRATCH=memory' };
  if (f.userns) return { inMemory: false, why: 'rootless' };
  if (!f.tmpfs) return { inMemory: false, why: 'no tmpfs' };
  const want = 2 * f.need;
  const short = (what: string, have: number): { inMemory: false; why: string } => ({
    inMemory: false,
    why: `${what} ${Math.round(have / MiB)} MiB < ${Math.round(want / MiB)} MiB`,
  });
  if (f.free < want) return short('tmpfs free', f.free);
  if (f.memAvailable < want) return short('memory available', f.memAvailable);
  if (f.cgroupHeadroom !== undefined && f.cgroupHeadroom < want)
    return short('cgroup memory headroom', f.cgroupHeadroom);
  return {
    inMemory: true,
    why: `${Math.round(f.free / MiB)} MiB free, ${Math.round(want / MiB)} MiB wanted`,
  };
}

async function memAvailable(): Promise<number> {
  const text = await readFile('/proc/meminfo', 'utf8').catch(() => '');
  const kb = /^MemAvailable:\s+(\d+) kB/m.exec(text)?.[1];
  return kb === undefined ? 0 : Number(kb) * 1024;
}

/**
 * The least room under a memory limit of this process's cgroup and its ancestors (cgroup v2 `memory.max`, or
 * v1 `memory.limit_in_bytes`, whose "no limit" is a number near 2^63); undefined when nothing limits it.
 */
export async function cgroupHeadroom(
  read: (path: string) => Promise<string> = (p) => readFile(p, 'utf8'),
): Promise<number | undefined> {
  const self = await read('/proc/self/cgroup').catch(() => '');
  const places = [
    { path: /^0::(.*)$/m.exec(self)?.[1], base: '/sys/fs/cgroup', files: ['memory.max', 'memory.current'] },
    {
      path: /^\d+:(?:[^:]*,)?memory(?:,[^:]*)?:(.*)$/m.exec(self)?.[1],
      base: '/sys/fs/cgroup/memory',
      files: ['memory.limit_in_bytes', 'memory.usage_in_bytes'],
    },
  ];
  let least: number | undefined;
  for (const place of places) {
    for (let path = place.path; path?.startsWith('/'); path = path === '/' ? undefined : dirname(path)) {
      const dir = join(place.base, path);
      const [max = '', current = ''] = await Promise.all(
        place.files.map((f) => read(join(dir, f)).catch(() => '')),
      );
      if (!/^\d+$/.test(max.trim()) || !/^\d+$/.test(current.trim())) continue;
      if (Number(max) >= 2 ** 62) continue;
      const room = Number(max) - Number(current);
      least = least === undefined ? room : Math.min(least, room);
    }
  }
  return least;
}

/** The dir memory scratch goes under: $COPA_SCRATCH_DIR (tests), else /dev/shm. */
function memoryRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.COPA_SCRATCH_DIR || '/dev/shm';
}

/**
 * The dir for the upper and work dirs of `workDir`'s image root: a memory dir (linked from the work dir)
 * when chosen, else `workDir` itself.
 */
export async function openScratch(workDir: string, imageBytes: number, logger: Logger): Promise<string> {
  const mode = scratchMode();
  const root = memoryRoot();
  const fs = await statfs(root).catch(() => undefined);
  const choice = chooseScratch({
    mode,
    tmpfs: fs?.type === TMPFS_MAGIC,
    free: fs ? fs.bavail * fs.bsize : 0,
    memAvailable: await memAvailable(),
    cgroupHeadroom: await cgroupHeadroom(),
    userns: inUserNamespace(),
    need: Math.max(MIN_NEED, imageBytes),
  });
  // /dev/shm may be shared with other pid namespaces (`docker run --ipc=host`), where our pids mean nothing
  const tag = await pidNamespaceTag();
  if (fs?.type === TMPFS_MAGIC) await removeLeftoverRuns(root, logger, tag);
  if (!choice.inMemory) {
    logger.debug(`scratch: the upper dir on disk, in ${workDir} (${choice.why})`);
    return workDir;
  }
  // named like a work dir, so that a crashed run's is removed as its work dir is
  const dir = join(root, `copa-run-${process.pid}-${tag}-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (e) {
    logger.debug(`scratch: the upper dir on disk, in ${workDir} (${dir}: ${(e as Error).message})`);
    return workDir;
  }
  await symlink(dir, join(workDir, LINK));
  logger.debug(`scratch: the upper dir in memory, in ${dir} (${choice.why})`);
  return dir;
}

/** `ns<inode>` of this process's pid namespace (`ns0` where /proc does not say). */
async function pidNamespaceTag(): Promise<string> {
  const link = await readlink('/proc/self/ns/pid').catch(() => '');
  return `ns${/\[(\d+)\]/.exec(link)?.[1] ?? '0'}`;
}

async function linked(workDir: string): Promise<string | undefined> {
  return readlink(join(workDir, LINK)).catch(() => undefined);
}

/** Remove the memory dir of a work dir, if it has one. */
export async function removeScratch(workDir: string): Promise<void> {
  const dir = await linked(workDir);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}

/**
 * A kept work dir (--debug) gets its memory dir's contents as `scratch/` (copied with `cp -a`, whiteouts
 * included), so that it holds no memory and one `rm -r` removes it all.
 */
export async function keepScratch(keptDir: string): Promise<void> {
  const dir = await linked(keptDir);
  if (dir === undefined) return;
  try {
    await rm(join(keptDir, LINK));
    await promisify(execFile)('cp', ['-a', dir, join(keptDir, LINK)]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
