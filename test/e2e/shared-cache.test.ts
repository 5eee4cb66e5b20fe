import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copa, startCli } from '../helpers/cli.js';
import { ensureDebianFixture, pushFixture } from '../helpers/fixtures.js';
import { tagExists } from '../helpers/inspect.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { trivyReport } from '../helpers/trivy.js';
import { upgradablePackages } from '../helpers/upgradable.js';

/**
 * Several copa processes on one cache dir: before the package cache was shared safely, two runs of the same
 * image failed 4 times out of 5 with `E: Could not get lock /var/lib/apt/lists/lock`.
 */

let registry: TestRegistry;
let work: string;
let source: string;
let report: string;

/** lock directories left in a cache (none once every holder finished) */
async function locks(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, depth: number): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.name.endsWith('.lock')) out.push(join(d, e.name));
      else if (e.isDirectory() && depth < 3) await walk(join(d, e.name), depth + 1);
    }
  };
  await walk(dir, 0);
  return out;
}

function waitFor(child: ReturnType<typeof startCli>['child'], text: string): Promise<void> {
  return new Promise((resolve) => {
    let seen = '';
    child.stderr?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(text)) resolve();
    });
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-cache-'));
  registry = await startRegistry();
  const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  const upgradable = await upgradablePackages(fixture);
  source = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12')).reference;
  const pick = upgradable.find((u) => u.name === 'libexpat1') ?? upgradable[0];
  if (!pick) throw new Error('the fixture has no upgradable package today');
  report = join(work, 'report.json');
  await writeFile(
    report,
    trivyReport({
      family: 'debian',
      version: '12',
      arch: 'amd64',
      image: source,
      vulns: [{ pkg: pick.name, installed: pick.from, fixed: pick.to }],
    }),
  );
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('one cache dir, several copa processes', () => {
  it('two processes started at the same moment on one cache and one image both succeed (10 times, cold and warm)', async () => {
    for (let i = 0; i < 10; i++) {
      // even rounds start from an empty cache (both race to extract and refresh), odd rounds reuse it
      const cache = join(work, `cache-${Math.floor(i / 2)}`);
      const runs = await Promise.all(
        ['a', 'b'].map((k) =>
          copa(['patch', '-i', source, '-r', report, '-t', `race-${i}-${k}`, '--push', '--cache-dir', cache]),
        ),
      );
      for (const [k, r] of runs.entries()) {
        expect(r.stderr, `round ${i} run ${k}`).not.toMatch(/Could not get lock|^Error/m);
        expect(r.code, `round ${i} run ${k}: ${r.stderr}`).toBe(0);
      }
      expect(tagExists(`${registry.host}/debian:race-${i}-a`)).toBe(true);
      expect(tagExists(`${registry.host}/debian:race-${i}-b`)).toBe(true);
      expect(await locks(cache)).toStrictEqual([]);
    }
  });

  it('a run killed (SIGKILL) while holding the package-index lock, or mid-apt, never blocks the next run', async () => {
    const cache = join(work, 'cache-killed');
    const args = (tag: string): string[] => [
      'patch',
      '-i',
      source,
      '--push',
      '-t',
      tag,
      '--cache-dir',
      cache,
    ];

    // 1. killed while it refreshes the package indexes (it holds the key's lock then)
    const first = startCli(args('killed-1'));
    await waitFor(first.child, 'Updating package lists');
    await new Promise((r) => setTimeout(r, 300));
    first.child.kill('SIGKILL');
    await first.done;
    const held = (await locks(cache)).length > 0;
    const next = await copa(args('after-kill-1'));
    expect(next.stderr).not.toMatch(/^Error/m);
    expect(next.code).toBe(0);
    // the dead holder's lock was waited out (it frees itself after 10 s), not fatal
    if (held) expect(next.stderr).toMatch(/Waiting for the package indexes/);

    // 2. killed mid-apt (installing), with the caches warm
    const second = startCli(args('killed-2'));
    await waitFor(second.child, 'Installing');
    await new Promise((r) => setTimeout(r, 500));
    second.child.kill('SIGKILL');
    await second.done;
    await new Promise((r) => setTimeout(r, 500)); // the sandbox dies with its parent
    const last = await copa(args('after-kill-2'));
    expect(last.stderr).not.toMatch(/^Error/m);
    expect(last.code).toBe(0);
    expect(tagExists(`${registry.host}/debian:after-kill-2`)).toBe(true);
    expect(tagExists(`${registry.host}/debian:killed-2`)).toBe(false);
    expect(await locks(cache)).toStrictEqual([]);
  });

  it("a run on fresh shared package lists loads apt's source cache published with them, without rebuilding it", async () => {
    const cache = join(work, 'cache-srcpkgcache');
    const args = (tag: string): string[] => [
      'patch',
      '-i',
      source,
      '-r',
      report,
      '-t',
      tag,
      '--push',
      '--cache-dir',
      cache,
    ];
    const cold = await copa(args('srccache-1'));
    expect(cold.code, cold.stderr).toBe(0);
    const [key] = await readdir(join(cache, 'pkg'));
    const published = await stat(
      join(cache, 'pkg', String(key), 'current', '_var_lib_apt_lists', 'srcpkgcache.bin'),
    );
    expect(published.size).toBeGreaterThan(1_000_000);

    const warm = await copa([...args('srccache-2'), '--debug']);
    expect(warm.code, warm.stderr).toBe(0);
    expect(warm.stderr).toMatch(/package indexes of .* are fresh/);
    const kept = /kept the work dir (\S+?);/.exec(warm.stderr)?.[1];
    if (!kept) throw new Error(`no kept work dir in: ${warm.stderr.slice(-500)}`);
    try {
      const found: string[] = [];
      const walk = async (d: string): Promise<void> => {
        for (const e of await readdir(d, { withFileTypes: true })) {
          const p = join(d, e.name);
          if (e.isDirectory()) await walk(p);
          else if (p.endsWith('/_var_lib_apt_lists/srcpkgcache.bin')) found.push(p);
        }
      };
      await walk(kept);
      expect(found).toHaveLength(1);
      // still the published file (a hard link): apt found it valid and used it; a rebuild replaces it by rename
      expect((await stat(String(found[0]))).ino).toBe(published.ino);
    } finally {
      await rm(kept, { recursive: true, force: true });
    }
  });
});
