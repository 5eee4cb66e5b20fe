import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copa, startCli, type CliResult } from '../helpers/cli.js';
import { ensureDebianFixture, pushFixture } from '../helpers/fixtures.js';
import { tagExists } from '../helpers/inspect.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

/**
 * Full disks (issue 17 item 4): the cache and the work dir on small tmpfs mounts that fill up mid-extract,
 * mid-apt and mid-layer-write. Each run ends in one line — "no space left on <dir> (<which>) during
 * <phase>" with what was free and, where it can be told, about what was needed — nothing is pushed, no
 * temp dir is left, and the next run on the same cache succeeds once there is room.
 */

let base: string;
let registry: TestRegistry;
let source: string;
const mounts: string[] = [];

async function tmpfs(name: string, size: string): Promise<string> {
  const dir = join(base, name);
  await mkdir(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

function errorLine(r: CliResult): string {
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('Error: '));
  expect(lines, r.stderr).toHaveLength(1);
  return lines[0] as string;
}

/** nothing half-done in the cache or the work dir: no extraction temp, no run dir */
async function noTemps(cacheDir: string): Promise<void> {
  const tmp = await readdir(join(cacheDir, 'layers', 'tmp')).catch(() => []);
  expect(tmp).toEqual([]);
  const all = execFileSync('find', [cacheDir, '-maxdepth', '3', '-name', 'copa-run-*'], { encoding: 'utf8' });
  expect(all.trim()).toBe('');
  expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toMatch(/copa-run-/);
}

/** Run a patch and, when `trigger` shows on stderr, fill `dir`'s filesystem to `leaveBytes` free. */
async function patchFilling(
  args: string[],
  dir: string,
  trigger: RegExp,
  leaveBytes: number,
  env?: NodeJS.ProcessEnv,
): Promise<CliResult> {
  const { child, done } = startCli(args, env);
  let seen = '';
  let filled = false;
  child.stderr?.on('data', (d: Buffer) => {
    seen += d.toString();
    if (filled || !trigger.test(seen)) return;
    filled = true;
    void statfs(dir).then((s) => {
      const fill = s.bavail * s.bsize - leaveBytes;
      if (fill > 0) execFileSync('fallocate', ['-l', String(fill), join(dir, 'filler')]);
    });
  });
  const r = await done;
  expect(filled, `never reached ${String(trigger)}:\n${r.stderr}`).toBe(true);
  return r;
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'copa-e2e-disk-'));
  registry = await startRegistry();
  const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  source = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12')).reference;
}, 900_000);

afterAll(async () => {
  for (const m of mounts.reverse()) execFileSync('umount', ['-l', m]);
  await registry?.stop();
  if (base) await rm(base, { recursive: true, force: true });
});

describe('full disks', () => {
  it('the cache fills up mid-extract → one line with the need (~ the layers unpacked), no tag, no temp; the next run succeeds', async () => {
    const cacheDir = await tmpfs('cache-small', '100m');
    const r = await copa(['patch', '-i', source, '--push', '-t', 'disk-extract', '--cache-dir', cacheDir]);
    expect(r.code).toBe(1);
    const line = errorLine(r);
    expect(line).toMatch(
      new RegExp(
        `^Error: no space left on ${cacheDir} \\(the layer cache\\) during "layers ready": needed ~(\\d+) MB, \\d+ MB were free$`,
      ),
    );
    // the fixture's layers unpack to well over the 100 MB there was
    expect(Number(/needed ~(\d+) MB/.exec(line)?.[1])).toBeGreaterThan(150);
    expect(r.stderr).toMatch(/next step: free space there, or point --cache-dir at a larger filesystem/);
    expect(tagExists(`${registry.host}/debian:disk-extract`)).toBe(false);
    await noTemps(cacheDir);
    // room again: the same cache works
    execFileSync('mount', ['-o', 'remount,size=1200m', cacheDir]);
    const again = await copa([
      'patch',
      '-i',
      source,
      '--push',
      '-t',
      'disk-extract',
      '--cache-dir',
      cacheDir,
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(tagExists(`${registry.host}/debian:disk-extract`)).toBe(true);
    await noTemps(cacheDir);
  }, 600_000);

  const shared = () => join(base, 'cache-small');
  it.each([
    {
      stage: 'apt (dpkg unpacking)',
      trigger: /Installing \d+ package/,
      phase: 'packages installed',
      tag: 'disk-apt',
    },
    { stage: 'layer write', trigger: /packages installed in/, phase: 'layer written', tag: 'disk-layer' },
  ])(
    'the disk fills up mid-$stage → one line naming the phase, no tag, no temp; the next run succeeds',
    async (c) => {
      const cacheDir = shared();
      // the upper dir on disk, in the work dir (auto would put it in memory, away from the full disk)
      const r = await patchFilling(
        ['patch', '-i', source, '--push', '-t', c.tag, '--cache-dir', cacheDir],
        cacheDir,
        c.trigger,
        256 * 1024,
        { ...process.env, COPA_SCRATCH: 'disk' },
      );
      expect(r.code, r.stderr).toBe(1);
      expect(errorLine(r)).toMatch(
        new RegExp(
          `^Error: no space left on ${cacheDir} \\(the layer cache and work dir\\) during "${c.phase}": needed more than the \\d+ MB that were free$`,
        ),
      );
      expect(tagExists(`${registry.host}/debian:${c.tag}`)).toBe(false);
      await noTemps(cacheDir);
      await rm(join(cacheDir, 'filler'));
      const again = await copa(['patch', '-i', source, '--push', '-t', c.tag, '--cache-dir', cacheDir]);
      expect(again.code, again.stderr).toBe(0);
      expect(tagExists(`${registry.host}/debian:${c.tag}`)).toBe(true);
      await noTemps(cacheDir);
    },
    600_000,
  );

  it('the upper dir in memory fills up mid-apt (COPA_SCRATCH=memory on a 20 MB tmpfs) → one line naming it and COPA_SCRATCH=disk, no tag, nothing left in memory', async () => {
    const cacheDir = shared();
    // apt's binary caches alone (the simulation and the download, side by side, write them) take about that
    // much
    const scratch = await tmpfs('scratch-small', '20m');
    const r = await copa(['patch', '-i', source, '--push', '-t', 'disk-memory', '--cache-dir', cacheDir], {
      ...process.env,
      COPA_SCRATCH: 'memory',
      COPA_SCRATCH_DIR: scratch,
    });
    expect(r.code, r.stderr).toBe(1);
    expect(errorLine(r)).toMatch(
      new RegExp(
        `^Error: no space left on ${scratch}/copa-run-\\d+-ns\\d+-[0-9a-f]+ \\(the upper dir, in memory\\) during "(simulation|packages downloaded|packages installed)": needed more than the (20|21) MB that were free$`,
      ),
    );
    expect(r.stderr).toMatch(
      /next step: free memory there, or keep the upper dir on disk: COPA_SCRATCH=disk/,
    );
    expect(tagExists(`${registry.host}/debian:disk-memory`)).toBe(false);
    expect(await readdir(scratch)).toEqual([]);
    await noTemps(cacheDir);
  }, 600_000);
});
