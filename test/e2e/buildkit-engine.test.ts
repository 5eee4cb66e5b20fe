import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildkitdMissing, startBuildkitd, type TestBuildkitd } from '../helpers/buildkitd.js';
import { copa } from '../helpers/cli.js';
import { startDockerd } from '../helpers/dockerd.js';
import { ensureDistrolessFixture, distrolessUpdates } from '../helpers/distroless.js';
import { ensureDebianFixture, pushFixture, type DebianFixture } from '../helpers/fixtures.js';
import { dpkgGe, lastLayerListing, pullToLayout, rawManifest } from '../helpers/inspect.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { writeBookwormReport, writeDebianReport } from '../helpers/debian-report.js';
import {
  installedVersions,
  upgradablePackages,
  withUnpackedImage,
  type Upgradable,
} from '../helpers/upgradable.js';

/**
 * The BuildKit engine (--addr) against a real buildkitd (runc worker, overlayfs) and the native engine on
 * the same fixture, report and registry: the same packages at the same versions, and the same files in the
 * one new layer (names, types, modes, owners and sizes; only timestamps may differ).
 */

const MISSING = buildkitdMissing();

let registry: TestRegistry;
let buildkitd: TestBuildkitd;
let fixture: DebianFixture;
let upgradable: Upgradable[];
let work: string;
let source: string;
let distroless: string;
let distrolessChosen: Upgradable[];

interface Result {
  status: string;
  patchedImage?: string;
  installed?: Record<string, string>;
  plan: { updates: Array<{ name: string; from: string | null; to: string }> };
  code?: string;
  message?: string;
}

const layerListing = (ref: string): Promise<string[]> => lastLayerListing(ref, work);

const json = (stdout: string): Result => JSON.parse(stdout) as Result;

beforeAll(async () => {
  if (MISSING !== undefined) return;
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-bk-'));
  registry = await startRegistry();
  buildkitd = await startBuildkitd({
    insecureRegistries: [registry.host],
    name: 'engine',
  });
  fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  upgradable = await upgradablePackages(fixture);
  source = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12')).reference;
  const dl = await ensureDistrolessFixture();
  distrolessChosen = (await distrolessUpdates(dl)).filter((u) => ['libssl3', 'openssl'].includes(u.name));
  distroless = (await pushFixture(dl.layoutDir, dl.refName, registry.host, 'distroless/base:12')).reference;
}, 900_000);

afterAll(async () => {
  await buildkitd?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe.skipIf(MISSING !== undefined)(`the BuildKit engine (--addr) ${MISSING ?? ''}`, () => {
  it('report mode: the same packages, versions and layer files as the native engine', async () => {
    const report = join(work, 'report.json');
    const chosen = await writeDebianReport(report, source, 'amd64', upgradable);
    const common = [
      'patch',
      '-i',
      source,
      '-r',
      report,
      '--push',
      '--json',
      '--cache-dir',
      join(work, 'cache'),
    ];
    const vex = join(work, 'vex.json');
    const bk = await copa([...common, '-t', '12-bk', '--addr', buildkitd.addr, '-o', vex]);
    expect(bk.stderr).not.toMatch(/^Error/m);
    expect(bk.code).toBe(0);
    const native = await copa([...common, '-t', '12-native']);
    expect(native.code).toBe(0);
    const a = json(bk.stdout);
    const doc = JSON.parse(await readFile(vex, 'utf8')) as { statements: Array<{ status: string }> };
    expect(doc.statements.length).toBe(chosen.length);
    expect(doc.statements.every((st) => st.status === 'fixed')).toBe(true);
    const b = json(native.stdout);
    expect(a.status).toBe('Patched');
    expect(a.installed).toEqual(b.installed);
    for (const u of chosen) expect(dpkgGe(a.installed?.[u.name] ?? '0', u.to), u.name).toBe(true);

    const before = rawManifest(source);
    const after = rawManifest(`${registry.host}/debian:12-bk`);
    expect(after.layers).toHaveLength(before.layers.length + 1);
    expect(after.layers.slice(0, -1).map((l) => l.digest)).toEqual(before.layers.map((l) => l.digest));
    const bkFiles = await layerListing(`${registry.host}/debian:12-bk`);
    const nativeFiles = await layerListing(`${registry.host}/debian:12-native`);
    // the same entries with the same type, mode, owner and size: files dpkg rewrote byte for byte are left
    // out on both engines (on BuildKit by putting the base mtime back, src/engine/buildkit/unchanged.ts)
    expect(bkFiles.filter((f) => !nativeFiles.includes(f))).toEqual([]);
    expect(nativeFiles.filter((f) => !bkFiles.includes(f))).toEqual([]);
    expect(bkFiles.some((l) => l.endsWith(' var/lib/dpkg/status'))).toBe(true);
  });

  it('re-patching a patched image: base layers + ONE layer holding both patches, the same as the native engine', async () => {
    const [first, second] = upgradable.filter((u) => !['libssl3', 'openssl', 'libexpat1'].includes(u.name));
    expect(first && second, 'two more upgradable packages to patch one after the other').toBeTruthy();
    const cache = ['--cache-dir', join(work, 'cache')];
    const r1 = join(work, 'repatch-1.json');
    const r2 = join(work, 'repatch-2.json');
    await writeBookwormReport(r1, source, [first!]);
    await writeBookwormReport(r2, source, [second!]);
    const p1 = await copa(['patch', '-i', source, '-r', r1, '--push', '-t', 'rp1', ...cache]);
    expect(p1.code, p1.stderr).toBe(0);
    const again = ['patch', '-i', `${registry.host}/debian:rp1`, '-r', r2, '--push', '--json', ...cache];
    const sbom = join(work, 'repatch-sbom.json');
    const bk = await copa([
      ...again,
      ...['-t', 'rp2-bk', '--addr', buildkitd.addr, '--sbom', sbom, '--attach'],
    ]);
    expect(bk.stderr).not.toMatch(/^Error/m);
    expect(bk.code).toBe(0);
    expect(bk.stderr).toContain('Re-patching');
    // --sbom and --attach on this engine: every package at its patched version, both documents referrers of
    // the pushed manifest
    const bom = JSON.parse(await readFile(sbom, 'utf8')) as {
      components: Array<{ name: string; version?: string }>;
    };
    for (const u of [first!, second!])
      expect(bom.components.find((c) => c.name === u.name)?.version, u.name).toBe(u.to);
    const attached = (
      JSON.parse(bk.stdout) as { digest: string; referrers: Array<{ subject: string; action: string }> }
    ).referrers;
    expect(attached.map((x) => x.action)).toEqual(['attached', 'attached']);
    expect(new Set(attached.map((x) => x.subject))).toEqual(
      new Set([(JSON.parse(bk.stdout) as { digest: string }).digest]),
    );
    const native = await copa([...again, '-t', 'rp2-native']);
    expect(native.code, native.stderr).toBe(0);
    expect(json(bk.stdout).installed).toEqual(json(native.stdout).installed);

    const base = rawManifest(source);
    const after = rawManifest(`${registry.host}/debian:rp2-bk`);
    expect(after.layers).toHaveLength(base.layers.length + 1);
    expect(after.layers.slice(0, -1).map((l) => l.digest)).toEqual(base.layers.map((l) => l.digest));
    const layout = await pullToLayout(`${registry.host}/debian:rp2-bk`, work);
    await withUnpackedImage(layout, 'x', async (root) => {
      const versions = await installedVersions(root);
      for (const u of [first!, second!]) expect(versions.get(u.name), u.name).toBe(u.to);
    });
    // the one layer holds the same entries as the native re-patch's (the first patch's files included)
    const bkFiles = await layerListing(`${registry.host}/debian:rp2-bk`);
    const nativeFiles = await layerListing(`${registry.host}/debian:rp2-native`);
    expect(bkFiles.filter((f) => !nativeFiles.includes(f))).toEqual([]);
    expect(nativeFiles.filter((f) => !bkFiles.includes(f))).toEqual([]);
  });

  it('update-all with --oci-dir: every upgradable package at its candidate version, checked in the image', async () => {
    const out = join(work, 'layout-all');
    const r = await copa([
      'patch',
      '-i',
      source,
      '--oci-dir',
      out,
      '-t',
      'all',
      '--json',
      '--addr',
      buildkitd.addr,
    ]);
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    expect(
      json(r.stdout)
        .plan.updates.map((u) => u.name)
        .sort(),
    ).toEqual(upgradable.map((u) => u.name).sort());
    await withUnpackedImage(out, 'all', async (root) => {
      const versions = await installedVersions(root);
      for (const u of upgradable) expect(versions.get(u.name), u.name).toBe(u.to);
    });
  });

  it('--dry-run plans the same updates as the native engine and writes nothing', async () => {
    const bk = await copa([
      'patch',
      '-i',
      source,
      '--dry-run',
      '--json',
      '-t',
      'dry',
      '--addr',
      buildkitd.addr,
    ]);
    const native = await copa(['patch', '-i', source, '--dry-run', '--json', '-t', 'dry']);
    expect(bk.code).toBe(0);
    expect(json(bk.stdout).status).toBe('DryRun');
    expect(json(bk.stdout).plan.updates).toEqual(json(native.stdout).plan.updates);
    expect(
      execFileSync('skopeo', ['list-tags', '--tls-verify=false', `docker://${source.replace(/:12$/, '')}`], {
        encoding: 'utf8',
      }),
    ).not.toContain('"dry"');
  });

  it('distroless through a tooling image: the same versions and status.d entries as the native engine', async () => {
    expect(distrolessChosen.length, 'libssl3/openssl lag the security suite in the fixture').toBeGreaterThan(
      0,
    );
    const report = join(work, 'distroless.json');
    await writeBookwormReport(report, distroless, distrolessChosen);
    const common = ['patch', '-i', distroless, '-r', report, '--tooling-image', source, '--push', '--json'];
    const bk = await copa([...common, '-t', '12-bk', '--addr', buildkitd.addr]);
    expect(bk.stderr).not.toMatch(/^Error/m);
    expect(bk.code).toBe(0);
    const native = await copa([...common, '-t', '12-native']);
    expect(native.code).toBe(0);
    expect(json(bk.stdout).installed).toEqual(json(native.stdout).installed);
    const files = await layerListing(`${registry.host}/distroless/base:12-bk`);
    for (const u of distrolessChosen)
      expect(files.some((f) => f.endsWith(` var/lib/dpkg/status.d/${u.name}`))).toBe(true);
    // no package manager state of the tooling image leaks into the distroless layer
    expect(
      files.filter((f) => / var\/lib\/dpkg\/(status|info\/|available)/.test(f) && !f.includes('status.d')),
    ).toEqual([]);
    // and the entries are the native engine's (files dpkg rewrote unchanged are left out on both; a file one
    // step created and a later step removed, dpkg's `*.dpkg-new`, leaves no whiteout: the squash asks the base)
    const nativeFiles = await layerListing(`${registry.host}/distroless/base:12-native`);
    expect(nativeFiles.filter((f) => !files.includes(f))).toEqual([]);
    expect(files.filter((f) => !nativeFiles.includes(f))).toEqual([]);
  });

  it('an unreachable daemon: one line with the address and a next step, exit 1, nothing pulled', async () => {
    const r = await copa(['patch', '-i', source, '--push', '--addr', `unix://${work}/no.sock`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: cannot reach BuildKit at unix:\/\/.*no\.sock/m);
    expect(r.stderr).toMatch(/next step: .*--addr/);
  });

  it("docker:// on Docker 20.10 (no MergeOp/DiffOp): Copa's capability error before any work; that docker as the local store", async () => {
    const docker = await startDockerd();
    try {
      const r = await copa(
        ['patch', '-i', source, '--push', '-t', 'never', '--addr', 'docker://'],
        docker.env,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^Error: the BuildKit at docker:\/\/ has mergeop and diffop disabled/m);
      expect(r.stderr).toMatch(/next step: .*containerd image store/);
      expect(r.stderr).not.toMatch(/Pulling/);

      // auto-detection (--engine buildkit, no --addr) tries that docker first and says why it cannot use it
      const auto = await copa(
        ['patch', '-i', source, '--push', '-t', 'never', '--engine', 'buildkit'],
        docker.env,
      );
      expect(auto.code).toBe(1);
      expect(auto.stderr).toMatch(
        /^Error: no usable BuildKit daemon found: docker:.*mergeop and diffop disabled/m,
      );

      // the same docker as the local store of a BuildKit-engine run (no --push/--oci-dir): the image loads and runs
      const load = await copa(
        ['patch', '-i', source, '--json', '-t', '12-loaded', '--addr', buildkitd.addr],
        docker.env,
      );
      expect(load.stderr).not.toMatch(/^Error/m);
      expect(load.code).toBe(0);
      const result = JSON.parse(load.stdout) as {
        output: { kind: string };
        installed: Record<string, string>;
      };
      expect(result.output.kind).toBe('docker');
      const tag = `${registry.host}/debian:12-loaded`;
      const layers = JSON.parse(
        (await docker.docker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', tag])).stdout,
      ) as string[];
      expect(layers).toHaveLength(rawManifest(source).layers.length + 1);
      const q = await docker.docker([
        'run',
        '--rm',
        '--network',
        'none',
        tag,
        'dpkg-query',
        '-W',
        '-f',
        '${Package} ${Version}\\n',
        'openssl',
      ]);
      expect(q.stdout.trim()).toBe(`openssl ${result.installed.openssl}`);
    } finally {
      await docker.stop();
    }
  });

  it('an unknown address scheme is a usage error (exit 2)', async () => {
    const r = await copa(['patch', '-i', source, '--push', '--addr', 'gopher://x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Error: .*gopher/m);
    const both = await copa([
      'patch',
      '-i',
      source,
      '--push',
      '--engine',
      'native',
      '--addr',
      buildkitd.addr,
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^Error: --engine native cannot be combined with --addr/m);
  });
});
