import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copa, startCli, type CliResult } from '../helpers/cli.js';
import { writeBookwormReport } from '../helpers/debian-report.js';
import { ensureDebianFixture, pushFixture } from '../helpers/fixtures.js';
import { rawManifest } from '../helpers/inspect.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { upgradablePackages } from '../helpers/upgradable.js';

/**
 * A user without root runs `copa patch` (issue 17 item 7): copa re-runs itself in a user namespace mapped with
 * the user's subordinate ids (newuidmap/newgidmap), mounts overlayfs there with userxattr, and the new layer
 * has exactly the entries, owners and modes of the same patch run as root. Without the helpers the error says
 * which part is missing.
 */

const USER = 'copa-rootless';
let work: string;
let registry: TestRegistry;
let source: string;
let report: string;
let uid: number;
let gid: number;

function asUser(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const wrapper = [
    '/usr/bin/setpriv',
    `--reuid=${uid}`,
    `--regid=${gid}`,
    '--init-groups',
    '/usr/bin/env',
    `HOME=${join(work, 'home')}`,
  ];
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', COPA_EOL_API_URL: 'off', ...env };
  return startCli(args, base, wrapper).done;
}

/** "mode owner name" of every entry of the image's newest layer, sorted */
function newLayerEntries(ref: string): string[] {
  const m = rawManifest(ref);
  const last = m.layers.at(-1)?.digest ?? '';
  const [host, rest] = [
    ref.split('/')[0],
    ref
      .split('/')
      .slice(1)
      .join('/')
      .replace(/:[^:]+$/, ''),
  ];
  const blob = execFileSync('curl', ['-sf', `http://${host}/v2/${rest}/blobs/${last}`], {
    maxBuffer: 1 << 30,
  });
  const list = execFileSync('tar', ['-tvzf', '-', '--numeric-owner'], {
    input: blob,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  return list
    .trim()
    .split('\n')
    .map((l) => l.split(/\s+/))
    .map((f) => `${f[0]} ${f[1]} ${f.slice(5).join(' ')}`)
    .sort();
}

beforeAll(async () => {
  try {
    execFileSync('id', [USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['-m', '-s', '/bin/sh', USER]);
  }
  uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }));
  gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }));
  // subordinate ids (useradd adds them where login.defs says so; add them otherwise)
  const has = (f: string) =>
    execFileSync('cat', [f], { encoding: 'utf8' })
      .split('\n')
      .some((l) => l.startsWith(`${USER}:`));
  if (!has('/etc/subuid')) execFileSync('usermod', ['--add-subuids', '500000-565535', USER]);
  if (!has('/etc/subgid')) execFileSync('usermod', ['--add-subgids', '500000-565535', USER]);

  work = await mkdtemp(join(tmpdir(), 'copa-e2e-rootless-'));
  await chmod(work, 0o755);
  await mkdir(join(work, 'home'));
  await chown(join(work, 'home'), uid, gid);
  registry = await startRegistry();
  const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  source = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12')).reference;
  const upgradable = await upgradablePackages(fixture);
  expect(upgradable.length).toBeGreaterThan(0);
  report = join(work, 'report.json');
  await writeBookwormReport(report, source, upgradable);
  await chmod(report, 0o644);
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('rootless native engine', () => {
  it('a user with subordinate ids patches; the layer matches the root run entry for entry (owners, modes)', async () => {
    const r = await asUser(['patch', '-i', source, '-r', report, '--push', '-t', 'rootless']);
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code, r.stderr).toBe(0);
    const asRoot = await copa([
      'patch',
      '-i',
      source,
      '-r',
      report,
      '--push',
      '-t',
      'as-root',
      '--cache-dir',
      join(work, 'root-cache'),
    ]);
    expect(asRoot.code, asRoot.stderr).toBe(0);
    const rootless = newLayerEntries(`${registry.host}/debian:rootless`);
    const root = newLayerEntries(`${registry.host}/debian:as-root`);
    expect(rootless.length).toBeGreaterThan(10);
    expect(rootless).toEqual(root);
    // the layer cache of the user is in its home, in the user-namespace form
    expect(execFileSync('ls', [join(work, 'home', '.cache', 'copa')], { encoding: 'utf8' })).toMatch(
      /layers-userns/,
    );
  }, 600_000);

  it('without newuidmap/newgidmap and unshare on PATH: one line naming what is missing', async () => {
    const r = await asUser(['patch', '-i', source, '-r', report, '--push', '-t', 'rootless-missing'], {
      PATH: '/nonexistent',
    });
    expect(r.code).toBe(1);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('Error: '));
    expect(errors).toEqual([
      'Error: copa patch needs root, or for a rootless run: newuidmap and newgidmap (the uidmap package); unshare (util-linux)',
    ]);
  }, 120_000);
});
