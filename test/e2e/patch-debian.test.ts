import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copa } from '../helpers/cli.js';
import {
  dpkgGe,
  imageConfig,
  layerEntries,
  pullToLayout,
  rawManifest,
  tagExists,
} from '../helpers/inspect.js';
import { ensureDebianFixture, pushFixture, type DebianFixture } from '../helpers/fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { trivyReport } from '../helpers/trivy.js';
import {
  installedVersions,
  upgradablePackages,
  withUnpackedImage,
  type Upgradable,
} from '../helpers/upgradable.js';

/**
 * End to end on real parts: a bookworm fixture image (mmdebstrap) in a real local registry, the real CLI,
 * the image's own apt against the Debian mirror; results checked with skopeo, umoci, dpkg and a chroot.
 */

let registry: TestRegistry;
let fixture: DebianFixture;
let upgradable: Upgradable[];
let work: string;
let cacheDir: string;
let source: string;

function leftovers(dir: string): Promise<string[]> {
  return readdir(dir).then(
    (names) => names.filter((n) => n.startsWith('copa-run-')),
    () => [],
  );
}
async function mountsUnder(dir: string): Promise<number> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').filter((l) => l.includes(dir)).length;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-'));
  cacheDir = join(work, 'cache');
  registry = await startRegistry();
  fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  upgradable = await upgradablePackages(fixture);
  source = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12')).reference;
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('copa patch on a real Debian 12 image', () => {
  it('has packages behind the security suite today (computed, not hard-coded)', () => {
    expect(upgradable.length).toBeGreaterThan(0);
  });

  it('report mode: patches the named packages, pushes n+1 layers, and openssl runs at the new version', async () => {
    const pick = upgradable.filter((u) => ['libssl3', 'openssl', 'libexpat1'].includes(u.name));
    const chosen = pick.length > 0 ? pick : upgradable.slice(0, 2);
    const report = join(work, 'report.json');
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
    const r = await copa([
      'patch',
      '-i',
      source,
      '-r',
      report,
      '--push',
      '--json',
      '--cache-dir',
      cacheDir,
      '-w',
      work,
    ]);
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as {
      status: string;
      patchedImage: string;
      digest: string;
      plan: { updates: Array<{ name: string }> };
    };
    expect(result.status).toBe('Patched');
    expect(result.patchedImage).toBe(`${registry.host}/debian:12-patched`);

    const before = rawManifest(source);
    const after = rawManifest(`${registry.host}/debian:12-patched`);
    expect(after.layers).toHaveLength(before.layers.length + 1);
    expect(after.layers.slice(0, -1).map((l) => l.digest)).toEqual(before.layers.map((l) => l.digest));
    expect(after.annotations?.['sh.copa.image.patched']).toBeTruthy();
    expect(after.annotations?.['org.opencontainers.image.created']).toBeTruthy();
    const cfg = imageConfig(`${registry.host}/debian:12-patched`);
    expect(cfg.config?.Labels?.BaseImage).toBe(source);
    expect(cfg.rootfs.diff_ids).toHaveLength(before.layers.length + 1);

    const layout = await pullToLayout(`${registry.host}/debian:12-patched`, work);
    const newLayer = after.layers[after.layers.length - 1]!.digest;
    const entries = layerEntries(layout, newLayer);
    expect(entries.some((e) => e.includes('var/lib/apt/lists/') && !e.endsWith('lists/'))).toBe(false);
    expect(entries.some((e) => e.endsWith('.deb'))).toBe(false);
    expect(entries.some((e) => e.startsWith('var/log/apt/') && !e.endsWith('/'))).toBe(false);
    expect(entries).toContain('var/lib/dpkg/status');

    await withUnpackedImage(layout, 'x', async (root) => {
      const versions = await installedVersions(root);
      for (const u of chosen)
        expect(dpkgGe(versions.get(u.name) ?? '0', u.to), `${u.name} >= ${u.to}`).toBe(true);
      const ssl = chosen.find((u) => u.name === 'openssl');
      if (ssl) {
        const out = execFileSync('chroot', [root, 'openssl', 'version'], { encoding: 'utf8' });
        const upstream = ssl.to.replace(/^\d+:/, '').split('-')[0]!;
        expect(out).toContain(`OpenSSL ${upstream}`);
      }
    });
    expect(await leftovers(work)).toEqual([]);
    expect(await mountsUnder(work)).toBe(0);
  });

  it('update-all mode with --oci-dir: every upgradable package reaches its candidate version', async () => {
    const out = join(work, 'layout-all');
    const r = await copa([
      'patch',
      '-i',
      source,
      '--oci-dir',
      out,
      '-t',
      '12-all',
      '--cache-dir',
      cacheDir,
      '-w',
      work,
    ]);
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    const inspect = JSON.parse(
      execFileSync('skopeo', ['inspect', `oci:${out}:12-all`], { encoding: 'utf8' }),
    ) as { Layers: string[] };
    expect(inspect.Layers).toHaveLength(rawManifest(source).layers.length + 1);
    await withUnpackedImage(out, '12-all', async (root) => {
      const versions = await installedVersions(root);
      for (const u of upgradable)
        expect(dpkgGe(versions.get(u.name) ?? '0', u.to), `${u.name} >= ${u.to}`).toBe(true);
    });
    expect(tagExists(`${registry.host}/debian:12-all`)).toBe(false);
  });

  it('without overlayfs (COPA_NO_OVERLAY=1): plain tree + before/after walk gives the same kind of layer', async () => {
    const chosen = upgradable.filter((u) => ['libssl3', 'openssl'].includes(u.name));
    const pick = chosen.length > 0 ? chosen : upgradable.slice(0, 1);
    const report = join(work, 'report-copy.json');
    await writeFile(
      report,
      trivyReport({
        family: 'debian',
        version: '12',
        arch: 'amd64',
        image: source,
        vulns: pick.map((u) => ({ pkg: u.name, installed: u.from, fixed: u.to })),
      }),
    );
    const out = join(work, 'layout-copy');
    const r = await copa(
      [
        'patch',
        '-i',
        source,
        '-r',
        report,
        '--oci-dir',
        out,
        '-t',
        '12-copy',
        '--cache-dir',
        cacheDir,
        '-w',
        work,
      ],
      { ...process.env, COPA_NO_OVERLAY: '1' },
    );
    expect(r.stderr).toContain('overlayfs is not available');
    expect(r.code).toBe(0);
    const manifest = JSON.parse(
      execFileSync('skopeo', ['inspect', '--raw', `oci:${out}:12-copy`], { encoding: 'utf8' }),
    ) as { layers: Array<{ digest: string }> };
    const entries = layerEntries(out, manifest.layers[manifest.layers.length - 1]!.digest);
    expect(entries).toContain('var/lib/dpkg/status');
    expect(entries.some((e) => e.startsWith('proc/') || e.startsWith('dev/') || e.endsWith('.deb'))).toBe(
      false,
    );
    expect(entries.some((e) => e.includes('var/lib/apt/lists/') && !e.endsWith('lists/'))).toBe(false);
    await withUnpackedImage(out, '12-copy', async (root) => {
      const versions = await installedVersions(root);
      for (const u of pick)
        expect(dpkgGe(versions.get(u.name) ?? '0', u.to), `${u.name} >= ${u.to}`).toBe(true);
    });
    expect(await leftovers(work)).toEqual([]);
  });

  it('--dry-run prints the plan and writes nothing', async () => {
    const r = await copa([
      'patch',
      '-i',
      source,
      '--dry-run',
      '-t',
      'dry',
      '--cache-dir',
      cacheDir,
      '-w',
      work,
    ]);
    expect(r.code).toBe(0);
    for (const u of upgradable.slice(0, 3)) expect(r.stdout).toContain(`${u.name} ${u.from} -> ${u.to}`);
    expect(r.stdout).toContain(`${registry.host}/debian:dry`);
    expect(tagExists(`${registry.host}/debian:dry`)).toBe(false);
  });

  it('a report for another Debian release: a warning, and the plan names the release the image runs', async () => {
    const report = join(work, 'report-debian11.json');
    const u = upgradable[0]!;
    await writeFile(
      report,
      trivyReport({
        family: 'debian',
        version: '11.8',
        arch: 'amd64',
        image: source,
        vulns: [{ pkg: u.name, installed: u.from, fixed: u.to }],
      }),
    );
    const r = await copa([
      'patch',
      '-i',
      source,
      '-r',
      report,
      '--dry-run',
      '--json',
      '--cache-dir',
      cacheDir,
      '-w',
      work,
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /warning: the report is for debian 11\.8 but the image runs debian 12: patching it as debian 12/,
    );
    const result = JSON.parse(r.stdout) as { plan: { os: { type: string; version: string } } };
    expect(result.plan.os).toEqual({ type: 'debian', version: '12' });
  });

  it('a report whose fixes are already installed: exit 0, "already up-to-date", nothing pushed', async () => {
    const report = join(work, 'old.json');
    const u = upgradable[0]!;
    await writeFile(
      report,
      trivyReport({
        family: 'debian',
        version: '12',
        arch: 'amd64',
        image: source,
        vulns: [{ pkg: u.name, installed: u.from, fixed: u.from }],
      }),
    );
    const r = await copa([
      'patch',
      '-i',
      source,
      '-r',
      report,
      '--push',
      '-t',
      'noop',
      '--cache-dir',
      cacheDir,
      '-w',
      work,
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Image is already up-to-date');
    expect(tagExists(`${registry.host}/debian:noop`)).toBe(false);
  });

  it('re-patching squashes the old patch: base layers + ONE layer holding both fixes', async () => {
    const [first, second] = upgradable.filter((u) =>
      ['libexpat1', 'liblzma5', 'libssl3', 'tzdata'].includes(u.name),
    );
    expect(first && second, 'two upgradable packages to patch one after the other').toBeTruthy();
    const r1 = join(work, 'r1.json');
    const r2 = join(work, 'r2.json');
    await writeFile(
      r1,
      trivyReport({
        family: 'debian',
        version: '12',
        arch: 'amd64',
        image: source,
        vulns: [{ pkg: first!.name, installed: first!.from, fixed: first!.to }],
      }),
    );
    await writeFile(
      r2,
      trivyReport({
        family: 'debian',
        version: '12',
        arch: 'amd64',
        image: source,
        vulns: [{ pkg: second!.name, installed: second!.from, fixed: second!.to }],
      }),
    );
    const p1 = await copa([
      'patch',
      '-i',
      source,
      '-r',
      r1,
      '--push',
      '-t',
      'p1',
      '--cache-dir',
      cacheDir,
      '-w',
      work,
    ]);
    expect(p1.code, p1.stderr).toBe(0);
    const p2 = await copa([
      'patch',
      '-i',
      `${registry.host}/debian:p1`,
      '-r',
      r2,
      '--push',
      '-t',
      'p2',
      '--cache-dir',
      cacheDir,
      '-w',
      work,
    ]);
    expect(p2.code, p2.stderr).toBe(0);
    expect(p2.stderr).toContain('Re-patching');
    const base = rawManifest(source);
    const after = rawManifest(`${registry.host}/debian:p2`);
    expect(after.layers).toHaveLength(base.layers.length + 1);
    expect(after.layers.slice(0, -1).map((l) => l.digest)).toEqual(base.layers.map((l) => l.digest));
    expect(imageConfig(`${registry.host}/debian:p2`).config?.Labels?.BaseImage).toBe(source);
    const layout = await pullToLayout(`${registry.host}/debian:p2`, work);
    await withUnpackedImage(layout, 'x', async (root) => {
      const versions = await installedVersions(root);
      for (const u of [first!, second!])
        expect(dpkgGe(versions.get(u.name) ?? '0', u.to), `${u.name} >= ${u.to}`).toBe(true);
    });
  });

  it('re-patching when the base is gone: warns and patches the image as a new base', async () => {
    // a copy of p1 under a name whose BaseImage points at a tag we delete
    execFileSync(
      'skopeo',
      [
        'copy',
        '--insecure-policy',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        `docker://${source}`,
        `docker://${registry.host}/gone:12`,
      ],
      { stdio: 'ignore' },
    );
    const report = join(work, 'gone.json');
    const u = upgradable[0]!;
    await writeFile(
      report,
      trivyReport({
        family: 'debian',
        version: '12',
        arch: 'amd64',
        image: source,
        vulns: [{ pkg: u.name, installed: u.from, fixed: u.to }],
      }),
    );
    const g1 = await copa([
      'patch',
      '-i',
      `${registry.host}/gone:12`,
      '-r',
      report,
      '--push',
      '-t',
      'g1',
      '--cache-dir',
      cacheDir,
      '-w',
      work,
    ]);
    expect(g1.code, g1.stderr).toBe(0);
    execFileSync('skopeo', ['delete', '--tls-verify=false', `docker://${registry.host}/gone:12`]);
    const all = await copa([
      'patch',
      '-i',
      `${registry.host}/gone:g1`,
      '--push',
      '-t',
      'g2',
      '--cache-dir',
      cacheDir,
      '-w',
      work,
    ]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stderr).toMatch(/cannot be pulled.*patching it as a new base/);
    expect(rawManifest(`${registry.host}/gone:g2`).layers).toHaveLength(
      rawManifest(`${registry.host}/gone:g1`).layers.length + 1,
    );
    expect(imageConfig(`${registry.host}/gone:g2`).config?.Labels?.BaseImage).toBe(
      `${registry.host}/gone:g1`,
    );
  });
});
