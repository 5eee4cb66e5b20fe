import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copa, startCli } from '../helpers/cli.js';
import { ensureDebianFixture, pushFixture } from '../helpers/fixtures.js';
import { lastLayerListing } from '../helpers/inspect.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { writeBookwormReport } from '../helpers/debian-report.js';
import { upgradablePackages, type Upgradable } from '../helpers/upgradable.js';

/**
 * The overlay's upper dir in memory (src/engine/native/scratch.ts): with room on the tmpfs (here a private
 * 1 GB one, $COPA_SCRATCH_DIR, instead of /dev/shm) a run's package manager writes there; the run's end
 * removes it, --debug copies it into the kept work dir, a crashed run's is removed by the next run, and
 * COPA_SCRATCH=disk keeps it in the work dir. (A full one is in full-disk.test.ts.)
 */

let registry: TestRegistry;
let work: string;
let shm: string;
let cacheDir: string;
let source: string;
let reportFile: string;
let upgradable: Upgradable[];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-scratch-'));
  cacheDir = join(work, 'cache');
  shm = join(work, 'shm');
  await mkdir(shm);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1g', 'tmpfs', shm]);
  registry = await startRegistry();
  const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  upgradable = await upgradablePackages(fixture);
  source = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12')).reference;
  reportFile = join(work, 'report.json');
  await writeBookwormReport(reportFile, source, upgradable.slice(0, 1));
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  if (shm) execFileSync('umount', ['-l', shm]);
  if (work) await rm(work, { recursive: true, force: true });
});

const args = (tag: string, ...extra: string[]): string[] => [
  ...extra,
  'patch',
  '-i',
  source,
  '-r',
  reportFile,
  '--push',
  '-t',
  tag,
  '--cache-dir',
  cacheDir,
];
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  COPA_SCRATCH_DIR: shm,
  ...extra,
});
const keptDir = (stderr: string): string => {
  const kept = /kept the work dir (\S+?);/.exec(stderr)?.[1];
  if (!kept) throw new Error(`no kept work dir in: ${stderr.slice(-500)}`);
  return kept;
};

describe('the upper dir in memory', () => {
  it('auto, --debug: in memory (the leftover of a dead run removed first), copied into the kept work dir, the layer as usual', async () => {
    expect(upgradable.length).toBeGreaterThan(0);
    const deadPid = 999_999;
    expect(existsSync(`/proc/${deadPid}`)).toBe(false);
    const ns = /\[(\d+)\]/.exec(await readlink('/proc/self/ns/pid'))?.[1];
    const leftover = join(shm, `copa-run-${deadPid}-ns${ns}-0123456789ab`);
    // one of a run in another pid namespace (a shared /dev/shm): its pid means nothing here, it stays
    const foreign = join(shm, `copa-run-${deadPid}-ns1-0123456789ab`);
    for (const d of [leftover, foreign]) {
      await mkdir(join(d, 'upper'), { recursive: true });
      await writeFile(join(d, 'upper', 'big'), Buffer.alloc(1 << 20));
    }

    const r = await copa(args('mem-debug', '--debug'), env());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`removing leftover work dir ${leftover} of a run that did not finish`);
    expect(await readdir(shm)).toEqual([basename(foreign)]);
    await rm(foreign, { recursive: true });
    const esc = shm.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    expect(r.stderr).toMatch(
      new RegExp(`scratch: the upper dir in memory, in ${esc}/copa-run-\\d+-ns\\d+-[0-9a-f]{12} \\(`),
    );
    // nothing stays in memory: the kept work dir has the upper dir's contents as a plain dir
    expect(await readdir(shm)).toEqual([]);
    const kept = keptDir(r.stderr);
    try {
      expect((await stat(join(kept, 'scratch', 'upper', 'var', 'lib', 'dpkg', 'status'))).isFile()).toBe(
        true,
      );
    } finally {
      await rm(kept, { recursive: true, force: true });
    }
    const files = await lastLayerListing(`${registry.host}/debian:mem-debug`, work);
    expect(files.some((f) => f.endsWith(' var/lib/dpkg/status'))).toBe(true);
  }, 600_000);

  it('auto without --debug: seen in memory while the packages install, gone when the run ends; COPA_SCRATCH=disk: the work dir', async () => {
    const { done } = startCli(args('mem-plain'), env());
    const seen = new Set<string>();
    let finished = false;
    const poll = (async () => {
      while (!finished) {
        for (const name of await readdir(shm)) seen.add(name);
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    const r = await done;
    finished = true;
    await poll;
    expect(r.code, r.stderr).toBe(0);
    expect([...seen].filter((n) => /^copa-run-\d+-ns\d+-[0-9a-f]{12}$/.test(n))).toHaveLength(1);
    expect(await readdir(shm)).toEqual([]);
    expect(await readdir(join(cacheDir, 'tmp'))).toEqual([]);

    const disk = await copa(args('mem-disk', '--debug'), env({ COPA_SCRATCH: 'disk' }));
    expect(disk.code, disk.stderr).toBe(0);
    expect(disk.stderr).toMatch(/scratch: the upper dir on disk, in \S+ \(COPA_SCRATCH=disk\)/);
    const kept = keptDir(disk.stderr);
    try {
      expect(existsSync(join(kept, 'scratch'))).toBe(false);
      expect((await stat(join(kept, 'upper', 'var', 'lib', 'dpkg', 'status'))).isFile()).toBe(true);
    } finally {
      await rm(kept, { recursive: true, force: true });
    }
    expect(await readdir(shm)).toEqual([]);
  }, 600_000);
});
