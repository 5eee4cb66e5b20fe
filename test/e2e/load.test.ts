import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copa } from '../helpers/cli.js';
import { startDockerd, startPodmanStore, type TestDocker, type TestPodman } from '../helpers/dockerd.js';
import { ensureDebianFixture, pushFixture, type DebianFixture } from '../helpers/fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { trivyReport } from '../helpers/trivy.js';
import { upgradablePackages, type Upgradable } from '../helpers/upgradable.js';

/**
 * `copa patch` without --push / --oci-dir loads the patched image into the local store: a real Docker engine
 * (Debian docker.io 20.10, private to this test) runs it; a private podman store receives it; with no store
 * the error says what to do instead.
 */

let registry: TestRegistry;
let docker: TestDocker;
let podman: TestPodman;
let fixture: DebianFixture;
let upgradable: Upgradable[];
let chosen: Upgradable[];
let work: string;
let cacheDir: string;
let source: string;
let report: string;
let baseDiffIDs: string[];

function dpkgGe(a: string, b: string): boolean {
  try {
    execFileSync('dpkg', ['--compare-versions', a, 'ge', b]);
    return true;
  } catch {
    return false;
  }
}

/** `name[:arch]\tversion` lines of dpkg-query -W -> name -> version. */
function parseDpkgQuery(out: string): Map<string, string> {
  return new Map(
    out
      .trim()
      .split('\n')
      .map((l) => l.split('\t'))
      .map(([name = '', version = '']) => [name.replace(/:[a-z0-9-]+$/, ''), version]),
  );
}

interface Inspect {
  Id: string;
  RootFS: { Layers: string[] };
  Config?: { Labels?: Record<string, string> | null };
  Labels?: Record<string, string> | null;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-load-'));
  cacheDir = join(work, 'cache');
  registry = await startRegistry();
  fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  upgradable = await upgradablePackages(fixture);
  source = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12')).reference;
  const pick = upgradable.filter((u) => ['libssl3', 'openssl'].includes(u.name));
  chosen = pick.length > 0 ? pick : upgradable.slice(0, 2);
  report = join(work, 'report.json');
  await writeFile(
    report,
    trivyReport({
      family: 'debian',
      version: '12',
      arch: 'amd64',
      image: source,
      vulns: chosen.map((u) => ({ pkg: u.name, installed: u.from, fixed: u.to })),
    }),
  );
  const cfg = execFileSync('skopeo', ['inspect', '--config', '--tls-verify=false', `docker://${source}`], {
    encoding: 'utf8',
  });
  baseDiffIDs = (JSON.parse(cfg) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids;
  docker = await startDockerd();
  podman = await startPodmanStore();
}, 900_000);

afterAll(async () => {
  await docker?.stop();
  await podman?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('copa patch into a local image store', () => {
  it('has packages to patch today (computed, not hard-coded)', () => {
    expect(chosen.length).toBeGreaterThan(0);
  });

  it('docker (auto-detected): the loaded image runs and shows the patched versions', async () => {
    const r = await copa(
      ['patch', '-i', source, '-r', report, '--json', '--cache-dir', cacheDir, '-w', work],
      docker.env,
    );
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as {
      status: string;
      patchedImage: string;
      output: { kind: string };
      layer: { diffID: string };
    };
    expect(result.status).toBe('Patched');
    expect(result.output.kind).toBe('docker');
    const tag = `${registry.host}/debian:12-patched`;
    expect(result.patchedImage).toBe(tag);

    const inspect = (JSON.parse((await docker.docker(['image', 'inspect', tag])).stdout) as Inspect[])[0]!;
    expect(inspect.RootFS.Layers).toEqual([...baseDiffIDs, result.layer.diffID]);
    expect(inspect.Config?.Labels?.BaseImage).toBe(source);

    const q = await docker.docker([
      'run',
      '--rm',
      '--network',
      'none',
      tag,
      'dpkg-query',
      '-W',
      ...chosen.map((u) => u.name),
    ]);
    const versions = parseDpkgQuery(q.stdout);
    for (const u of chosen)
      expect(dpkgGe(versions.get(u.name) ?? '0', u.to), `${u.name} ${versions.get(u.name)} >= ${u.to}`).toBe(
        true,
      );
    const ssl = chosen.find((u) => u.name === 'openssl');
    if (ssl) {
      const out = await docker.docker(['run', '--rm', '--network', 'none', tag, 'openssl', 'version']);
      expect(out.stdout).toContain(`OpenSSL ${ssl.to.replace(/^\d+:/, '').split('-')[0]!}`);
    }
  });

  it('podman (--loader podman, --compression zstd --force-compression): same layers in podman', async () => {
    const r = await copa(
      [
        'patch',
        '-i',
        source,
        '-r',
        report,
        '-t',
        '12-podman',
        '--loader',
        'podman',
        '--compression',
        'zstd',
        '--force-compression',
        '--json',
        '--cache-dir',
        cacheDir,
        '-w',
        work,
      ],
      podman.env,
    );
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { output: { kind: string }; layer: { diffID: string } };
    expect(result.output.kind).toBe('podman');
    const out = await podman.podman(['image', 'inspect', `${registry.host}/debian:12-podman`]);
    const inspect = (JSON.parse(out.stdout) as Inspect[])[0]!;
    expect(inspect.RootFS.Layers).toEqual([...baseDiffIDs, result.layer.diffID]);
    expect(inspect.Labels?.BaseImage).toBe(source);
  });

  it('no docker engine and no podman: a clear error at once, suggesting --push or --oci-dir', async () => {
    const env = { HOME: work, PATH: '/nonexistent', DOCKER_HOST: `unix://${join(work, 'no-docker.sock')}` };
    const r = await copa(['patch', '-i', source, '-r', report, '--cache-dir', cacheDir, '-w', work], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error: no local image store found (docker or podman)');
    expect(r.stderr).toMatch(
      /next step: use --push to push to a registry or --oci-dir DIR to write an OCI layout/,
    );
    const explicit = await copa(['patch', '-i', source, '--loader', 'docker', '--cache-dir', cacheDir], env);
    expect(explicit.code).toBe(1);
    expect(explicit.stderr).toMatch(/no docker engine answers at .*no-docker\.sock \(DOCKER_HOST\)/);
  });

  it('--compression estargz is refused before any work', async () => {
    const r = await copa(
      ['patch', '-i', source, '--compression', 'estargz', '--cache-dir', cacheDir],
      docker.env,
    );
    expect(r.code).toBe(2);
    // not offered: commander refuses it with the choices there are
    expect(r.stderr).toMatch(/argument 'estargz' is invalid\. Allowed choices are uncompressed, gzip, zstd/);
  });
});
