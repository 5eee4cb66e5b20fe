import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  byCommand,
  clockTicks,
  cpuDelta,
  descendants,
  parseProcStat,
  peakRssMiB,
  readProcStat,
  resetPeakRss,
  rollupPssKiB,
  sampleTreeRss,
  statusKiB,
  treeDetail,
  treeRssBytes,
  type ProcStat,
} from './proc.js';

// a real line of `cat /proc/self/stat` (Linux 6.x), fields 14–17 and 24 changed to recognisable values
const CAT =
  '17129 (cat) R 17127 17127 2694 0 -1 4194304 96 0 0 0 11 22 33 44 20 0 1 0 85904 3133440 380 18446744073709551615 94491062579200 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0';

function proc(pid: number, ppid: number, rssPages = 1): ProcStat {
  return { pid, ppid, comm: 'x', state: 'S', utime: 0, stime: 0, cutime: 0, cstime: 0, rssPages };
}

describe('parseProcStat', () => {
  it('reads pid, command, state, ppid, the four CPU times and the resident set', () => {
    expect(parseProcStat(CAT)).toEqual({
      pid: 17129,
      comm: 'cat',
      state: 'R',
      ppid: 17127,
      utime: 11,
      stime: 22,
      cutime: 33,
      cstime: 44,
      rssPages: 380,
    });
  });
  it('counts fields from the last parenthesis: a command name may hold spaces and parentheses', () => {
    const line = CAT.replace('(cat)', '(my (odd) cmd 1 2)');
    expect(parseProcStat(line)).toMatchObject({ comm: 'my (odd) cmd 1 2', ppid: 17127, cstime: 44 });
  });
  it('refuses what is not a stat line, or a truncated one', () => {
    expect(() => parseProcStat('hello')).toThrow(/not a \/proc\/PID\/stat line/);
    expect(() => parseProcStat('12 (sh) S 1 2 3')).toThrow(/no field 14/);
  });
  it('reads this process for real', async () => {
    const me = await readProcStat(process.pid);
    expect(me.pid).toBe(process.pid);
    expect(me.ppid).toBe(process.ppid);
    expect(me.rssPages).toBeGreaterThan(0);
    expect(clockTicks()).toBeGreaterThan(0);
  });
});

describe('cpuDelta', () => {
  it('adds own and reaped-children time, user and system apart, in seconds', () => {
    const before = parseProcStat(CAT);
    const after = { ...before, utime: 111, stime: 22, cutime: 233, cstime: 144 };
    expect(cpuDelta(before, after, 100)).toEqual({ userS: 3, sysS: 1 });
  });
  it('refuses two different processes', () => {
    expect(() => cpuDelta(proc(1, 0), proc(2, 0), 100)).toThrow(/two processes/);
  });
});

describe('statusKiB', () => {
  it('reads a kB line of /proc/PID/status', () => {
    const status = 'Name:\tbuildkitd\nVmPeak:\t  900 kB\nVmHWM:\t    62412 kB\nVmRSS:\t 61000 kB\n';
    expect(statusKiB(status, 'VmHWM')).toBe(62412);
    expect(statusKiB(status, 'VmSwap')).toBeUndefined();
  });
});

describe('process trees', () => {
  const procs = [
    proc(1, 0, 10),
    proc(50, 1, 100),
    proc(51, 50, 7),
    proc(52, 51, 3),
    proc(60, 1, 1000),
    proc(61, 60, 5),
  ];
  it('finds a root and everything below it, not its siblings', () => {
    expect([...descendants(procs, [50])].sort()).toEqual([50, 51, 52]);
    expect([...descendants(procs, [50, 60])].sort()).toEqual([50, 51, 52, 60, 61]);
    expect(descendants(procs, [999]).size).toBe(0);
  });
  it('sums the resident sets of the trees', () => {
    expect(treeRssBytes(procs, [50], 4096)).toBe(110 * 4096);
    expect(treeRssBytes(procs, [51, 60], 1)).toBe(1015);
  });
});

describe('per-command breakdown and PSS', () => {
  it('groups the resident sets by command name, largest first', () => {
    const entries = [
      { comm: 'node', bytes: 150 },
      { comm: 'apt-get', bytes: 40 },
      { comm: 'apt-get', bytes: 40 },
      { comm: 'dpkg', bytes: 90 },
      { comm: 'gzip', bytes: 1 },
    ];
    expect(byCommand(entries, 3)).toEqual([
      { comm: 'node', bytes: 150, count: 1 },
      { comm: 'dpkg', bytes: 90, count: 1 },
      { comm: 'apt-get', bytes: 80, count: 2 },
    ]);
  });
  it('reads Pss from smaps_rollup, not Pss_Anon and friends', () => {
    const rollup =
      '55-7f ---p 00000000 00:00 0   [rollup]\nRss:   1768 kB\nPss:    337 kB\nPss_Anon:  112 kB\n';
    expect(rollupPssKiB(rollup)).toBe(337);
    expect(rollupPssKiB('')).toBeUndefined();
  });
  it('turns a peak into round details', () => {
    expect(treeDetail({ rssMiB: 700, pssMiB: 500, top: { node: 150, 'dpkg ×4': 300 } })).toEqual({
      'Σ tree PSS MiB': 500,
      'at the peak: node MiB': 150,
      'at the peak: dpkg ×4 MiB': 300,
    });
    expect(treeDetail(undefined)).toEqual({});
  });
});

describe('readers on live processes', () => {
  it('samples Σ RSS of a running tree, and resets and reads a peak RSS', async () => {
    const child = spawn('sh', ['-c', 'sleep 2 & sleep 2; wait'], { stdio: 'ignore' });
    const pid = child.pid as number;
    const sampler = sampleTreeRss(() => [pid], 50);
    await new Promise((r) => setTimeout(r, 400));
    await resetPeakRss(pid);
    expect(await peakRssMiB(pid)).toBeGreaterThan(0);
    child.kill('SIGKILL');
    const peak = await sampler.stop();
    expect(peak?.rssMiB).toBeGreaterThan(0);
    expect(peak?.pssMiB).toBeGreaterThan(0);
    expect(Object.keys(peak?.top ?? {})).toContain('sleep ×2');
  });
});
