import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copa } from '../helpers/cli.js';
import { ensureDebianFixture, pushFixture, type PushedImage } from '../helpers/fixtures.js';
import {
  ensurePythonFixtures,
  PY_FIXED,
  PY_OLD,
  PY_VENV_PATH,
  pythonTrivyReport,
} from '../helpers/python-fixtures.js';
import { writeBookwormReport } from '../helpers/debian-report.js';
import { dpkgGe, pullToLayout, rawManifest, tagExists } from '../helpers/inspect.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { cycloneDxErrors, spdxErrors } from '../helpers/sbom-schema.js';
import {
  installedVersions,
  upgradablePackages,
  withUnpackedImage,
  type Upgradable,
} from '../helpers/upgradable.js';

/**
 * --sbom and the lineage annotations on real parts: the bookworm fixture in a real local registry, the real
 * CLI and the image's own apt. Each SBOM is checked against the official JSON schema and against the dpkg
 * status of the pushed image (unpacked by umoci); the annotations are read back from the registry by skopeo.
 */

const BASE_NAME = 'org.opencontainers.image.base.name';
const BASE_DIGEST = 'org.opencontainers.image.base.digest';

let registry: TestRegistry;
let upgradable: Upgradable[];
let work: string;
let cacheDir: string;
let source: PushedImage;
/** what the first run patches; the rest is left for the re-patch */
let first: Upgradable[];

interface CdxComponent {
  type: string;
  name: string;
  version?: string;
  purl?: string;
  properties?: Array<{ name: string; value: string }>;
  pedigree?: { ancestors: Array<{ version?: string }> };
}

/** dpkg's status of a pushed image: pulled with skopeo, unpacked with umoci, parsed by the test helper. */
/** the CLI with this file's cache and work dir */
function patch(args: string[], env?: NodeJS.ProcessEnv) {
  return copa([...args, '--cache-dir', cacheDir, '-w', work], env);
}

async function dpkgStatusOf(ref: string): Promise<Map<string, string>> {
  const layout = await pullToLayout(ref, work);
  return withUnpackedImage(layout, 'x', (root) => installedVersions(root));
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-sbom-'));
  cacheDir = join(work, 'cache');
  registry = await startRegistry();
  const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  upgradable = await upgradablePackages(fixture);
  source = await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12');
  const named = upgradable.filter((u) => ['libssl3', 'openssl', 'libexpat1'].includes(u.name));
  first = (named.length > 0 ? named : upgradable).slice(0, Math.max(1, upgradable.length - 1));
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('copa patch --sbom, and the base-image annotations', () => {
  it('the fixture has at least two packages behind the security suite today (one per run below)', () => {
    expect(upgradable.length).toBeGreaterThanOrEqual(2);
    expect(upgradable.some((u) => !first.includes(u))).toBe(true);
  });

  it('a bad --sbom path is a usage error before any work: nothing pushed', async () => {
    const r = await copa([
      'patch',
      '-i',
      source.reference,
      '--push',
      '--sbom',
      join(work, 'no', 'such', 'sbom.json'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--sbom: directory .* does not exist/);
    expect(tagExists(`${registry.host}/debian:12-patched`)).toBe(false);
  });

  it('report mode, CycloneDX (default): schema-valid, every dpkg package at its version now in the image', async () => {
    const report = join(work, 'report.json');
    await writeBookwormReport(report, source.reference, first);
    const sbomFile = join(work, 'sbom.cdx.json');
    const r = await patch([
      'patch',
      '-i',
      source.reference,
      '-r',
      report,
      '--push',
      '--json',
      '--sbom',
      sbomFile,
    ]);
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { status: string; digest: string };
    expect(result.status).toBe('Patched');
    expect(r.stderr).toMatch(/Wrote CycloneDX 1\.6 SBOM/);

    const bom = JSON.parse(await readFile(sbomFile, 'utf8')) as {
      specVersion: string;
      metadata: { component: CdxComponent };
      components: CdxComponent[];
    };
    expect(cycloneDxErrors(bom)).toEqual([]);
    expect(bom.specVersion).toBe('1.6');
    expect(bom.metadata.component.version).toBe(result.digest);
    expect(bom.metadata.component.pedigree?.ancestors[0]?.version).toBe(source.digest);

    const patched = `${registry.host}/debian:12-patched`;
    const status = await dpkgStatusOf(patched);
    const debs = bom.components.filter((c) => c.purl?.startsWith('pkg:deb/debian/'));
    expect(new Map(debs.map((c) => [c.name, c.version]))).toEqual(status);
    for (const u of first) {
      const c = debs.find((x) => x.name === u.name);
      expect(dpkgGe(c?.version ?? '0', u.to), `${u.name} ${c?.version} >= ${u.to}`).toBe(true);
      expect(c?.purl).toContain('?arch=amd64&distro=debian-12');
      expect(c?.properties).toContainEqual({ name: 'sh.copa:previous-version', value: u.from });
    }

    const manifest = rawManifest(patched);
    expect(manifest.annotations?.[BASE_NAME]).toBe(source.reference);
    expect(manifest.annotations?.[BASE_DIGEST]).toBe(source.digest);
  });

  it('re-patching the patched image, SPDX: schema-valid, and the lineage still names the ORIGINAL base', async () => {
    const sbomFile = join(work, 'sbom.spdx.json');
    const r = await patch([
      'patch',
      '-i',
      `${registry.host}/debian:12-patched`,
      '-t',
      '12-repatched',
      '--push',
      '--json',
      '--sbom',
      sbomFile,
      '--sbom-format',
      'spdx',
    ]);
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Re-patching/);
    const result = JSON.parse(r.stdout) as { status: string; digest: string };
    expect(result.status).toBe('Patched');

    const doc = JSON.parse(await readFile(sbomFile, 'utf8')) as {
      spdxVersion: string;
      packages: Array<{
        SPDXID: string;
        name: string;
        versionInfo?: string;
        primaryPackagePurpose: string;
        externalRefs?: Array<{ referenceLocator: string }>;
      }>;
      relationships: Array<{ spdxElementId: string; relationshipType: string; relatedSpdxElement: string }>;
    };
    expect(spdxErrors(doc)).toEqual([]);
    expect(doc.spdxVersion).toBe('SPDX-2.3');

    const repatched = `${registry.host}/debian:12-repatched`;
    const status = await dpkgStatusOf(repatched);
    const debs = doc.packages.filter((p) => p.externalRefs?.[0]?.referenceLocator.startsWith('pkg:deb/'));
    expect(new Map(debs.map((p) => [p.name, p.versionInfo]))).toEqual(status);
    for (const u of upgradable) {
      const p = debs.find((x) => x.name === u.name);
      expect(dpkgGe(p?.versionInfo ?? '0', u.to), `${u.name} ${p?.versionInfo} >= ${u.to}`).toBe(true);
    }

    const byId = new Map(doc.packages.map((p) => [p.SPDXID, p]));
    const described = doc.relationships.find((x) => x.relationshipType === 'DESCRIBES')?.relatedSpdxElement;
    expect(byId.get(described ?? '')?.versionInfo).toBe(result.digest);
    const ancestor = doc.relationships.find((x) => x.relationshipType === 'DESCENDANT_OF');
    expect(byId.get(ancestor?.relatedSpdxElement ?? '')?.versionInfo).toBe(source.digest);

    const manifest = rawManifest(repatched);
    expect(manifest.annotations?.[BASE_NAME]).toBe(source.reference);
    expect(manifest.annotations?.[BASE_DIGEST]).toBe(source.digest);
    expect(manifest.layers).toHaveLength(rawManifest(source.reference).layers.length + 1);
    expect((await readdir(work)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a library-only run (--pkg-types library): the changed library at its new version, and the OS list all the same', async () => {
    const fx = await ensurePythonFixtures();
    const app = (await pushFixture(fx.app, fx.refName, registry.host, 'py/app:1')).reference;
    const report = join(work, 'report-py.json');
    await writeFile(
      report,
      pythonTrivyReport(app, [{ pkg: 'urllib3', installed: PY_OLD, fixed: PY_FIXED, path: PY_VENV_PATH }]),
    );
    const out = join(work, 'out-py');
    const sbomFile = join(work, 'sbom.py.cdx.json');
    const pipIndex = process.env.PIP_INDEX_URL ? ['--pip-index-url', process.env.PIP_INDEX_URL] : [];
    const r = await patch(
      [
        'patch',
        '-i',
        app,
        '-r',
        report,
        '--pkg-types',
        'library',
        '--oci-dir',
        out,
        '-t',
        'p',
        '--sbom',
        sbomFile,
        ...pipIndex,
      ],
      { ...process.env, COPA_EXPERIMENTAL: '1' },
    );
    expect(r.code, r.stderr).toBe(0);
    const bom = JSON.parse(await readFile(sbomFile, 'utf8')) as { components: CdxComponent[] };
    expect(cycloneDxErrors(bom)).toEqual([]);
    const urllib3 = bom.components.find((c) => c.purl?.startsWith('pkg:pypi/urllib3@'));
    expect(urllib3).toMatchObject({
      name: 'urllib3',
      version: PY_FIXED,
      purl: `pkg:pypi/urllib3@${PY_FIXED}`,
    });
    expect(urllib3?.properties).toContainEqual({ name: 'sh.copa:path', value: '/app/venv' });
    expect(urllib3?.properties).toContainEqual({ name: 'sh.copa:previous-version', value: PY_OLD });
    const status = await withUnpackedImage(out, 'p', (root) => installedVersions(root));
    const debs = bom.components.filter((c) => c.purl?.startsWith('pkg:deb/debian/'));
    expect(status.get('python3')).toBeDefined();
    expect(new Map(debs.map((c) => [c.name, c.version]))).toEqual(status);
    expect(debs.some((c) => c.properties !== undefined)).toBe(false);
  });

  it('a multi-platform index: the index names the source index as its base; ONE SBOM with an image per patched platform', async () => {
    // an index of the amd64 fixture and a stand-in linux/arm64 entry (the same manifest), which
    // --platform linux/amd64 leaves preserved: the multi-platform flow runs, with no emulation needed
    const manifest = await fetch(`http://${registry.host}/v2/debian/manifests/${source.digest}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const size = Buffer.from(await manifest.arrayBuffer()).length;
    const desc = (architecture: string) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: source.digest,
      size,
      platform: { os: 'linux', architecture },
    });
    const indexBody = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [desc('amd64'), desc('arm64')],
      }),
    );
    const put = await fetch(`http://${registry.host}/v2/debian/manifests/multi`, {
      method: 'PUT',
      body: indexBody,
      headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' },
    });
    expect(put.status).toBe(201);
    const indexDigest = put.headers.get('docker-content-digest');
    const sbomFile = join(work, 'sbom.multi.cdx.json');
    const r = await patch([
      'patch',
      '-i',
      `${registry.host}/debian:multi`,
      '--platform',
      'linux/amd64',
      '--push',
      '--json',
      '--sbom',
      sbomFile,
    ]);
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { status: string; digest: string; platform: string };
    expect(result).toMatchObject({ status: 'Patched', platform: 'multi' });

    const index = rawManifest(`${registry.host}/debian:multi-patched`);
    expect(index.annotations?.[BASE_NAME]).toBe(`${registry.host}/debian:multi`);
    expect(index.annotations?.[BASE_DIGEST]).toBe(indexDigest);
    const amd = rawManifest(`${registry.host}/debian:multi-patched-amd64`);
    expect(amd.annotations?.[BASE_NAME]).toBe(`${registry.host}/debian:multi`);
    expect(amd.annotations?.[BASE_DIGEST]).toBe(source.digest);

    const bom = JSON.parse(await readFile(sbomFile, 'utf8')) as {
      metadata: { component: CdxComponent };
      components: Array<CdxComponent & { components?: CdxComponent[] }>;
    };
    expect(cycloneDxErrors(bom)).toEqual([]);
    expect(bom.metadata.component.version).toBe(result.digest);
    expect(bom.metadata.component.pedigree?.ancestors[0]?.version).toBe(indexDigest);
    expect(bom.components).toHaveLength(1);
    const image = bom.components[0];
    expect(image?.type).toBe('container');
    expect(image?.properties).toContainEqual({ name: 'sh.copa:platform', value: 'linux/amd64' });
    const status = await dpkgStatusOf(`${registry.host}/debian:multi-patched-amd64`);
    const debs = (image?.components ?? []).filter((c) => c.purl?.startsWith('pkg:deb/debian/'));
    expect(new Map(debs.map((c) => [c.name, c.version]))).toEqual(status);
  });
});
