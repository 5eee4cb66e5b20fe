import { spawnSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';

/**
 * What /proc tells about processes the bench did not wait for itself: a daemon's CPU time (buildkitd runs
 * for the whole bench, so its rusage never reaches GNU time) and the resident memory of a process tree,
 * sampled while a command runs. The parsers are pure; the readers are thin.
 */

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  /** clock ticks (see clockTicks()) */
  utime: number;
  stime: number;
  /** ticks of waited-for children that have exited */
  cutime: number;
  cstime: number;
  /** resident set, pages */
  rssPages: number;
}

/**
 * One /proc/PID/stat line. The command name is in parentheses and may itself hold spaces and parentheses,
 * so the fields are counted from the last `)`: field 3 (state) comes right after it.
 */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open)
    throw new Error(`not a /proc/PID/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  const pid = Number(text.slice(0, open).trim());
  const comm = text.slice(open + 1, close);
  // rest[0] is field 3 (state), so field n is rest[n - 3]
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const field = (n: number): number => {
    const v = Number(rest[n - 3]);
    if (rest[n - 3] === undefined || !Number.isFinite(v))
      throw new Error(`/proc/PID/stat of ${pid}: no field ${n} in ${JSON.stringify(text.slice(0, 120))}`);
    return v;
  };
  if (!Number.isInteger(pid))
    throw new Error(`/proc/PID/stat: bad pid in ${JSON.stringify(text.slice(0, 80))}`);
  return {
    pid,
    comm,
    state: rest[0] ?? '?',
    ppid: field(4),
    utime: field(14),
    stime: field(15),
    cutime: field(16),
    cstime: field(17),
    rssPages: field(24),
  };
}

/** CPU seconds between two readings of the same process, its reaped children included. */
export function cpuDelta(
  before: ProcStat,
  after: ProcStat,
  ticksPerSecond: number,
): { userS: number; sysS: number } {
  if (before.pid !== after.pid) throw new Error(`cpuDelta of two processes (${before.pid}, ${after.pid})`);
  const user = after.utime + after.cutime - (before.utime + before.cutime);
  const sys = after.stime + after.cstime - (before.stime + before.cstime);
  return { userS: user / ticksPerSecond, sysS: sys / ticksPerSecond };
}

/** A `Key:   1234 kB` line of /proc/PID/status, in KiB (VmHWM = peak resident set since start or reset). */
export function statusKiB(text: string, key: string): number | undefined {
  const m = new RegExp(`^${key}:\\s*(\\d+)\\s*kB`, 'm').exec(text);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** The processes below (and including) the roots, from (pid, ppid) pairs. */
export function descendants(
  procs: ReadonlyArray<Pick<ProcStat, 'pid' | 'ppid'>>,
  roots: readonly number[],
): Set<number> {
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const present = new Set(procs.map((p) => p.pid));
  const found = new Set<number>();
  const queue = roots.filter((r) => present.has(r));
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    if (found.has(pid)) continue;
    found.add(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

/** Σ resident set of the trees under `roots`, in bytes. */
export function treeRssBytes(procs: readonly ProcStat[], roots: readonly number[], pageSize: number): number {
  const tree = descendants(procs, roots);
  return procs.filter((p) => tree.has(p.pid)).reduce((n, p) => n + p.rssPages * pageSize, 0);
}

/** Bytes per command name (e.g. 3 × apt-get -> one entry), largest first, at most `top` entries. */
export function byCommand(
  entries: ReadonlyArray<{ comm: string; bytes: number }>,
  top = 5,
): Array<{ comm: string; bytes: number; count: number }> {
  const sums = new Map<string, { bytes: number; count: number }>();
  for (const e of entries) {
    const s = sums.get(e.comm) ?? { bytes: 0, count: 0 };
    sums.set(e.comm, { bytes: s.bytes + e.bytes, count: s.count + 1 });
  }
  return [...sums]
    .map(([comm, s]) => ({ comm, ...s }))
    .sort((a, b) => b.bytes - a.bytes || a.comm.localeCompare(b.comm))
    .slice(0, top);
}

let cachedConf: { ticks: number; page: number } | undefined;

function getconf(name: string, fallback: number): number {
  const r = spawnSync('getconf', [name], { encoding: 'utf8' });
  const n = Number(r.stdout.trim());
  return r.status === 0 && Number.isInteger(n) && n > 0 ? n : fallback;
}

/** USER_HZ (the unit of utime/stime in /proc), from `getconf CLK_TCK`. */
export function clockTicks(): number {
  cachedConf ??= { ticks: getconf('CLK_TCK', 100), page: getconf('PAGESIZE', 4096) };
  return cachedConf.ticks;
}

export function pageSize(): number {
  cachedConf ??= { ticks: getconf('CLK_TCK', 100), page: getconf('PAGESIZE', 4096) };
  return cachedConf.page;
}

export async function readProcStat(pid: number): Promise<ProcStat> {
  return parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
}

/** Every process's stat line (processes that vanish while being read are skipped). */
export async function readAllProcStats(): Promise<ProcStat[]> {
  const pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e));
  const out: ProcStat[] = [];
  for (const pid of pids) {
    try {
      out.push(parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8')));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Reset the peak resident set (VmHWM) of a process to its current one (`5` > clear_refs, Linux ≥ 4.0). */
export async function resetPeakRss(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5');
}

/** VmHWM of a process in MiB (the peak since start or the last resetPeakRss). */
export async function peakRssMiB(pid: number): Promise<number> {
  const kib = statusKiB(await readFile(`/proc/${pid}/status`, 'utf8'), 'VmHWM');
  if (kib === undefined) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Math.round((kib / 1024) * 100) / 100;
}

/** `Pss:` of /proc/PID/smaps_rollup, in KiB. */
export function rollupPssKiB(text: string): number | undefined {
  return statusKiB(text, 'Pss');
}

export interface TreePeak {
  /** the largest Σ RSS seen, MiB */
  rssMiB: number;
  /** Σ PSS (proportional set: shared pages split between their users) at that moment, MiB */
  pssMiB: number;
  /** RSS per command name at that moment, largest first: "apt-get ×4" -> MiB */
  top: Record<string, number>;
}

export interface TreeSampler {
  /** stop sampling; undefined if no sample was taken */
  stop(): Promise<TreePeak | undefined>;
}

const mibOf = (bytes: number): number => Math.round((bytes / 2 ** 20) * 100) / 100;

/**
 * Sample the process trees under `roots` every `intervalMs` until stopped: Σ RSS (shared pages counted once
 * per process: an upper bound), and at its peak Σ PSS (from smaps_rollup) and RSS per command name. A
 * peak shorter than the interval can be missed.
 */
export function sampleTreeRss(roots: () => readonly number[], intervalMs = 250): TreeSampler {
  let peak: TreePeak | undefined;
  let stopped = false;
  const page = pageSize();
  const once = async (): Promise<void> => {
    const procs = await readAllProcStats();
    const tree = descendants(procs, roots());
    const members = procs.filter((p) => tree.has(p.pid));
    const rss = members.reduce((n, p) => n + p.rssPages * page, 0);
    if (peak !== undefined && rss <= peak.rssMiB * 2 ** 20) return;
    let pssKiB = 0;
    for (const p of members) {
      const text = await readFile(`/proc/${p.pid}/smaps_rollup`, 'utf8').catch(() => '');
      pssKiB += rollupPssKiB(text) ?? 0;
    }
    const top = byCommand(members.map((p) => ({ comm: p.comm, bytes: p.rssPages * page })));
    peak = {
      rssMiB: mibOf(rss),
      pssMiB: mibOf(pssKiB * 1024),
      top: Object.fromEntries(
        top.map((t) => [t.count > 1 ? `${t.comm} ×${t.count}` : t.comm, mibOf(t.bytes)]),
      ),
    };
  };
  const loop = (async () => {
    while (!stopped) {
      await once().catch(() => undefined);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return peak;
    },
  };
}

/** A tree peak as round details: Σ PSS and the RSS of the largest commands at the peak. */
export function treeDetail(peak: TreePeak | undefined): Record<string, number> {
  if (!peak) return {};
  return {
    'Σ tree PSS MiB': peak.pssMiB,
    ...Object.fromEntries(Object.entries(peak.top).map(([k, v]) => [`at the peak: ${k} MiB`, v])),
  };
}
