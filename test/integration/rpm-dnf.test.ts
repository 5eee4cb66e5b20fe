import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildkitdMissing, startBuildkitd } from '../helpers/buildkitd.js';
import { copa } from '../helpers/cli.js';
import { ensureDebianFixture, pushFixture } from '../helpers/fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import {
  buildTestPackages,
  layoutOf,
  makeRepo,
  payloadPath,
  ROCKY,
  rpmDistroLayer,
  rpmQuery,
  serveDir,
  type ServedDir,
} from '../helpers/rpm-fixtures.js';
import { trivyReport } from '../helpers/trivy.js';
import { withUnpackedImage } from '../helpers/upgradable.js';

/**
 * RPM for real: self-built RPMs (rpmbuild) at two versions in a createrepo_c repository served on 127.0.0.1;
 * an image whose filesystem has dnf, rpm and an rpm database (a Debian root with Debian's dnf and rpm, turned
 * into a "Rocky Linux 9.3" image by a layer with os-release, rpm macros, the repo file and an rpmdb written by
 * the real rpm). The real CLI patches it with dnf inside the image; the result's rpmdb is read with the host's
 * real rpm.
 */

let registry: TestRegistry;
let repo: ServedDir;
let work: string;
let cacheDir: string;
let source: string;

function skopeoRaw(ref: string): { layers: Array<{ digest: string }> } {
  const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return JSON.parse(raw) as never;
}

async function pullToLayout(ref: string): Promise<string> {
  const dir = await mkdtemp(join(work, 'pulled-'));
  execFileSync(
    'skopeo',
    ['copy', '--insecure-policy', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir}/oci:x`],
    { stdio: 'ignore' },
  );
  return join(dir, 'oci');
}

async function installedIn(ref: string): Promise<{ rpms: Map<string, string>; hello: string }> {
  const layout = await pullToLayout(ref);
  return withUnpackedImage(layout, 'x', async (rootfs) => ({
    rpms: await rpmQuery(rootfs),
    hello: (await readFile(join(rootfs, payloadPath('copa-hello')), 'utf8')).trim(),
  }));
}

async function newLayerEntries(ref: string): Promise<string[]> {
  const last = skopeoRaw(ref).layers.at(-1);
  if (!last) throw new Error('no layers');
  const layout = await pullToLayout(ref);
  const blob = join(layout, 'blobs/sha256', last.digest.slice('sha256:'.length));
  return execFileSync('tar', ['-tzf', blob], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n')
    .filter(Boolean);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-rpm-dnf-'));
  cacheDir = join(work, 'cache');
  registry = await startRegistry();
  const pkgs = await buildTestPackages(join(work, 'rpms'));
  repo = await serveDir(await makeRepo(join(work, 'repo'), [...pkgs.v1, ...pkgs.v2]));
  const debian = await ensureDebianFixture({ name: 'bookworm-minbase', include: ['dnf', 'rpm'] });
  const rpmLayer = await rpmDistroLayer(work, {
    distro: ROCKY,
    repoUrl: repo.url,
    install: pkgs.v1,
    macros: true,
  });
  const layout = await layoutOf(join(work, 'image'), [debian.rootfsTar, rpmLayer]);
  source = (await pushFixture(layout.layoutDir, layout.refName, registry.host, 'rocky:9.3')).reference;
}, 900_000);

afterAll(async () => {
  await repo?.close();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('copa patch on an RPM image with dnf inside (real dnf, rpm, createrepo_c)', () => {
  it('the fixture has the old packages in its rpmdb (read with the real rpm)', async () => {
    const { rpms, hello } = await installedIn(source);
    expect(rpms.get('copa-hello')).toBe('1.0-1');
    expect(rpms.get('copa-lib')).toBe('1:1.0-1');
    expect(hello).toBe('1.0');
  });

  it('dry run: the plan comes from dnf check-update', async () => {
    const r = await copa(['patch', '-i', source, '--dry-run', '--cache-dir', cacheDir]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('copa-hello 1.0-1 -> 2.0-1');
    expect(r.stdout).toContain('copa-lib 1:1.0-1 -> 1:1.1-1');
  });

  it('update-all: dnf upgrades both packages; one layer, no dnf cache or logs in it', async () => {
    const r = await copa(['patch', '-i', source, '--push', '--json', '--cache-dir', cacheDir]);
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { status: string; installed: Record<string, string> };
    expect(result.status).toBe('Patched');
    expect(result.installed).toEqual({ 'copa-hello': '2.0-1', 'copa-lib': '1:1.1-1' });
    const patched = `${registry.host}/rocky:9.3-patched`;
    const { rpms, hello } = await installedIn(patched);
    expect(rpms.get('copa-hello')).toBe('2.0-1');
    expect(rpms.get('copa-lib')).toBe('1:1.1-1');
    expect(hello).toBe('2.0');
    expect(skopeoRaw(patched).layers).toHaveLength(skopeoRaw(source).layers.length + 1);
    const entries = await newLayerEntries(patched);
    expect(entries.some((e) => e.includes('var/lib/rpm/rpmdb.sqlite'))).toBe(true);
    expect(entries.some((e) => e.includes('usr/share/copa-hello/version'))).toBe(true);
    expect(entries.filter((e) => /var\/cache\/dnf|var\/log\/(dnf|hawkey)/.test(e))).toEqual([]);
    // the repository really served the new packages
    expect(repo.requests).toContain('/copa-hello-2.0-1.noarch.rpm');
  });

  it('report mode: only the reported package moves', async () => {
    const report = join(work, 'report.json');
    await writeFile(
      report,
      trivyReport({
        family: 'rocky',
        version: '9.3',
        arch: 'amd64',
        image: source,
        vulns: [{ pkg: 'copa-hello', installed: '1.0-1', fixed: '2.0-1' }],
      }),
    );
    const r = await copa([
      'patch',
      '-i',
      source,
      '-r',
      report,
      '-t',
      '9.3-report',
      '--push',
      '--cache-dir',
      cacheDir,
    ]);
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    const { rpms } = await installedIn(`${registry.host}/rocky:9.3-report`);
    expect(rpms.get('copa-hello')).toBe('2.0-1');
    expect(rpms.get('copa-lib')).toBe('1:1.0-1');
  });

  it("a fix the repository does not have fails with Copa's message and pushes nothing", async () => {
    const report = join(work, 'report-too-new.json');
    await writeFile(
      report,
      trivyReport({
        family: 'rocky',
        version: '9.3',
        arch: 'amd64',
        image: source,
        vulns: [{ pkg: 'copa-hello', installed: '1.0-1', fixed: '3.0-1' }],
      }),
    );
    const r = await copa([
      'patch',
      '-i',
      source,
      '-r',
      report,
      '-t',
      '9.3-too-new',
      '--push',
      '--cache-dir',
      cacheDir,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'downloaded package copa-hello version 2.0-1 lower than required 3.0-1 for update',
    );
    expect(() => skopeoRaw(`${registry.host}/rocky:9.3-too-new`)).toThrow();
  });
});

const BUILDKIT_MISSING = buildkitdMissing();

describe.skipIf(BUILDKIT_MISSING !== undefined)(
  `the same on the BuildKit engine ${BUILDKIT_MISSING ?? ''}`,
  () => {
    it('update-all through a real buildkitd: dnf in the image as exec steps, the same versions as natively', async () => {
      const buildkitd = await startBuildkitd({ insecureRegistries: [registry.host], name: 'rpm' });
      try {
        const r = await copa([
          'patch',
          '-i',
          source,
          '-t',
          '9.3-bk',
          '--push',
          '--json',
          '--addr',
          buildkitd.addr,
        ]);
        expect(r.stderr).not.toMatch(/^Error/m);
        expect(r.code).toBe(0);
        const result = JSON.parse(r.stdout) as { status: string; installed: Record<string, string> };
        expect(result.installed).toEqual({ 'copa-hello': '2.0-1', 'copa-lib': '1:1.1-1' });
        const { rpms, hello } = await installedIn(`${registry.host}/rocky:9.3-bk`);
        expect(rpms.get('copa-hello')).toBe('2.0-1');
        expect(hello).toBe('2.0');
        const entries = await newLayerEntries(`${registry.host}/rocky:9.3-bk`);
        expect(entries.filter((e) => /var\/cache\/dnf|var\/log\/(dnf|hawkey)/.test(e))).toEqual([]);
      } finally {
        await buildkitd.stop();
      }
    });
  },
);
