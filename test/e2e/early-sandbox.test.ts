import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copa } from '../helpers/cli.js';
import { ensureDebianFixture, pushFixture } from '../helpers/fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { trivyReport } from '../helpers/trivy.js';
import { upgradablePackages, type Upgradable } from '../helpers/upgradable.js';

/**
 * `copa patch` (native engine, root) starts its sandbox child before the CLI has loaded (src/engine/native/
 * spawn.ts). The run's sandbox takes that child; a run that never opens a sandbox (nothing to patch, bad
 * input) leaves no process behind and exits as fast as before. Each run gets a marker in its environment,
 * which the child inherits, so its processes can be found in /proc.
 */

let registry: TestRegistry;
let work: string;
let cacheDir: string;
let source: string;
let upgradable: Upgradable[];

/** pids of live processes whose environment holds `mark` */
async function marked(mark: string): Promise<string[]> {
  const out: string[] = [];
  for (const pid of (await readdir('/proc')).filter((n) => /^\d+$/.test(n))) {
    const env = await readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '');
    if (env.split('\0').includes(`COPA_TEST_MARK=${mark}`)) out.push(pid);
  }
  return out;
}

async function run(
  args: string[],
): Promise<{ code: number; stderr: string; seconds: number; left: string[] }> {
  const mark = randomUUID();
  const started = Date.now();
  const r = await copa([...args, '--cache-dir', cacheDir, '-w', work], {
    ...process.env,
    COPA_TEST_MARK: mark,
  });
  const seconds = (Date.now() - started) / 1000;
  // the CLI's streams have closed (the child inherits its stdout): whatever is still alive was left behind
  return { code: r.code, stderr: r.stderr, seconds, left: await marked(mark) };
}

async function report(
  name: string,
  vulns: { pkg: string; installed: string; fixed: string }[],
): Promise<string> {
  const p = join(work, name);
  await writeFile(p, trivyReport({ family: 'debian', version: '12', arch: 'amd64', image: source, vulns }));
  return p;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-early-'));
  cacheDir = join(work, 'cache');
  registry = await startRegistry();
  const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  upgradable = await upgradablePackages(fixture);
  source = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12')).reference;
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the sandbox child started early', () => {
  it('a patch run uses it (--debug says so), and leaves no process', async () => {
    expect(upgradable.length).toBeGreaterThan(0);
    const u = upgradable[0]!;
    const r = await run([
      '--debug',
      'patch',
      '-i',
      source,
      '-r',
      await report('one.json', [{ pkg: u.name, installed: u.from, fixed: u.to }]),
      '--push',
      '-t',
      'early',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/debug: sandbox: the child started early takes \S+sandbox\.json/);
    expect(r.stderr).not.toMatch(/debug: sandbox: a new child/);
    expect(r.left).toEqual([]);
  });

  it('a run that ends before it needs a sandbox (the image is not in the registry): its error, no process left', async () => {
    const r = await run(['--debug', 'patch', '-i', `${registry.host}/nothing:here`, '--push', '-t', 'gone']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^Error: .*nothing/m);
    expect(r.stderr).not.toMatch(/debug: sandbox:/);
    expect(r.left).toEqual([]);
    // the unused child does not hold the run open
    expect(r.seconds).toBeLessThan(20);
  });

  it('bad input: the usual error and exit code, no process left', async () => {
    const r = await run(['patch', '-i', source, '-r', join(work, 'missing.json'), '--push', '-t', 'bad']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^Error: .*missing\.json/m);
    expect(r.left).toEqual([]);
  });
});
