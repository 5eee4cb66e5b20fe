import { mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cycloneDxErrors, spdxErrors } from '../../test/helpers/sbom-schema.js';
import { buildCycloneDx, type CdxComponent } from './cyclonedx.js';
import { buildSpdx } from './spdx.js';
import type { ImageInventory, SbomInput } from './types.js';
import { buildSbom, sbomPackageCount, serializeSbom, writeSbom } from './write.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const D3 = `sha256:${'3'.repeat(64)}`;
const BASE = `sha256:${'b'.repeat(64)}`;

function inventory(arch: string, digest: string): ImageInventory {
  return {
    platform: { os: 'linux', architecture: arch },
    digest,
    os: { type: 'debian', version: '12' },
    packages: new Map([
      ['libssl3', '3.0.17-1~deb12u3'],
      ['openssl', '3.0.17-1~deb12u3'],
      ['libc6', '2.36-9+deb12u10'],
      ['libnew1', '1.0-1'],
    ]),
    updated: new Map<string, string | undefined>([
      ['libssl3', '3.0.11-1~deb12u2'],
      ['openssl', '3.0.11-1~deb12u2'],
      ['libnew1', undefined],
    ]),
    libraries: [
      { type: 'python-pkg', name: 'Jinja2', path: '/app/venv', from: '3.1.2', to: '3.1.6' },
      { type: 'python-pkg', name: 'Jinja2', path: '/opt/other', from: '3.1.2', to: '3.1.6' },
      { type: 'node-pkg', name: '@babel/traverse', path: '/srv/app', from: '7.22.5', to: '7.23.2' },
    ],
  };
}

const single: SbomInput = {
  name: '127.0.0.1:5000/debian:12-patched',
  digest: D1,
  images: [inventory('amd64', D1)],
  base: { name: '127.0.0.1:5000/debian:12', digest: BASE },
  toolVersion: '0.1.0',
  now: new Date('2026-01-02T03:04:05.678Z'),
  uuid: '00000000-0000-4000-8000-000000000001',
};
const multi: SbomInput = {
  ...single,
  index: true,
  digest: D3,
  images: [inventory('amd64', D1), inventory('arm64', D2)],
};

const flat = (cs: CdxComponent[]): CdxComponent[] => cs.flatMap((c) => [c, ...flat(c.components ?? [])]);

describe('CycloneDX 1.6', () => {
  it('a single image: valid against the official schema; packages at their new versions', () => {
    const bom = buildCycloneDx(single);
    expect(cycloneDxErrors(bom)).toEqual([]);
    expect(bom.metadata.timestamp).toBe('2026-01-02T03:04:05Z');
    expect(bom.serialNumber).toBe(`urn:uuid:${single.uuid}`);
    const ssl = bom.components.find((c) => c.name === 'libssl3');
    expect(ssl).toMatchObject({
      type: 'library',
      version: '3.0.17-1~deb12u3',
      purl: 'pkg:deb/debian/libssl3@3.0.17-1~deb12u3?arch=amd64&distro=debian-12',
    });
    expect(ssl?.properties).toContainEqual({ name: 'sh.copa:previous-version', value: '3.0.11-1~deb12u2' });
    expect(bom.components.find((c) => c.name === 'libc6')?.properties).toBeUndefined();
    expect(bom.components.find((c) => c.name === 'libnew1')?.properties).toEqual([
      { name: 'sh.copa:patched', value: 'true' },
    ]);
    expect(bom.components.find((c) => c.type === 'operating-system')).toMatchObject({
      name: 'debian',
      version: '12',
    });
    const libs = bom.components.filter((c) => c.purl?.startsWith('pkg:pypi/'));
    expect(libs.map((c) => c.purl)).toEqual(['pkg:pypi/jinja2@3.1.6', 'pkg:pypi/jinja2@3.1.6']);
    expect(new Set(flat(bom.components).map((c) => c['bom-ref'])).size).toBe(flat(bom.components).length);
    expect(bom.components.find((c) => c.name === '@babel/traverse')?.purl).toBe(
      'pkg:npm/%40babel/traverse@7.23.2',
    );
    expect(bom.metadata.component).toMatchObject({ type: 'container', name: 'debian', version: D1 });
    expect(bom.metadata.component.pedigree?.ancestors[0]).toMatchObject({ name: 'debian', version: BASE });
    expect(bom.dependencies[0]?.dependsOn).toHaveLength(bom.components.length);
    expect(sbomPackageCount(bom)).toBe(7);
  });

  it('a multi-platform index: one container per platform holding its packages; still schema-valid', () => {
    const bom = buildCycloneDx(multi);
    expect(cycloneDxErrors(bom)).toEqual([]);
    expect(bom.metadata.component.version).toBe(D3);
    expect(bom.components.map((c) => [c.type, c.version])).toEqual([
      ['container', D1],
      ['container', D2],
    ]);
    const arm = bom.components[1]?.components?.find((c) => c.name === 'openssl');
    expect(arm?.purl).toBe('pkg:deb/debian/openssl@3.0.17-1~deb12u3?arch=arm64&distro=debian-12');
    const refs = flat(bom.components).map((c) => c['bom-ref']);
    expect(new Set(refs).size).toBe(refs.length);
    expect(sbomPackageCount(bom)).toBe(14);
    // an index with one patched platform (the others preserved) keeps the index shape
    const one = buildCycloneDx({ ...multi, images: [inventory('arm64', D2)] });
    expect(cycloneDxErrors(one)).toEqual([]);
    expect(one.components.map((c) => [c.type, c.version])).toEqual([['container', D2]]);
  });

  it('the schema is really applied: a document without bomFormat or with a bad purl type fails', () => {
    const { bomFormat: _drop, ...rest } = buildCycloneDx(single);
    expect(cycloneDxErrors(rest).join('\n')).toMatch(/bomFormat/);
    const bad = buildCycloneDx(single);
    (bad.components[0] as unknown as { type: string }).type = 'not-a-type';
    expect(cycloneDxErrors(bad)).not.toEqual([]);
  });
});

describe('SPDX 2.3', () => {
  it('a single image: valid against the official schema; packages at their new versions, lineage', () => {
    const doc = buildSpdx(single);
    expect(spdxErrors(doc)).toEqual([]);
    expect(doc.documentNamespace).toBe(`urn:uuid:${single.uuid}`);
    const ssl = doc.packages.find((p) => p.name === 'libssl3');
    expect(ssl?.versionInfo).toBe('3.0.17-1~deb12u3');
    expect(ssl?.externalRefs?.[0]?.referenceLocator).toBe(
      'pkg:deb/debian/libssl3@3.0.17-1~deb12u3?arch=amd64&distro=debian-12',
    );
    expect(ssl?.comment).toBe('patched by copa from 3.0.11-1~deb12u2');
    const ids = doc.packages.map((p) => p.SPDXID);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^SPDXRef-[A-Za-z0-9.-]+$/);
    expect(doc.relationships).toContainEqual({
      spdxElementId: 'SPDXRef-Image',
      relationshipType: 'DESCENDANT_OF',
      relatedSpdxElement: 'SPDXRef-BaseImage',
    });
    const contained = doc.relationships.filter((r) => r.relationshipType === 'CONTAINS');
    expect(contained).toHaveLength(doc.packages.length - 2);
    expect(sbomPackageCount(doc)).toBe(7);
  });

  it('a multi-platform index CONTAINS its platform images, each CONTAINS its packages', () => {
    const doc = buildSpdx(multi);
    expect(spdxErrors(doc)).toEqual([]);
    const images = doc.packages
      .filter((p) => p.primaryPackagePurpose === 'CONTAINER')
      .map((p) => p.versionInfo);
    expect(images).toEqual([D3, BASE, D1, D2]);
    const ids = doc.packages.map((p) => p.SPDXID);
    expect(new Set(ids).size).toBe(ids.length);
    expect(sbomPackageCount(doc)).toBe(14);
  });

  it('the schema is really applied: a document without spdxVersion fails', () => {
    const { spdxVersion: _drop, ...rest } = buildSpdx(single);
    expect(spdxErrors(rest).join('\n')).toMatch(/spdxVersion/);
  });
});

describe('writeSbom', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'copa-sbom-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes the chosen format; a missing directory is a one-line usage error', async () => {
    const doc = buildSbom('spdx', single);
    await writeSbom(join(dir, 'sbom.json'), doc);
    expect(await readFile(join(dir, 'sbom.json'), 'utf8')).toBe(serializeSbom(doc));
    expect(JSON.parse(serializeSbom(buildSbom('cyclonedx', single)))).toHaveProperty(
      'bomFormat',
      'CycloneDX',
    );
    await expect(writeSbom(join(dir, 'nope', 'sbom.json'), doc)).rejects.toMatchObject({
      code: 'USAGE',
      hint: expect.stringContaining('--sbom') as unknown,
    });
  });

  it('replaces an existing file atomically (new inode, its mode kept); writes through a symlink', async () => {
    const path = join(dir, 'old.json');
    await writeFile(path, 'old', { mode: 0o644 });
    const before = await stat(path);
    const doc = buildSbom('cyclonedx', single);
    await writeSbom(path, doc);
    const after = await stat(path);
    expect(after.ino).not.toBe(before.ino);
    expect(after.mode & 0o777).toBe(0o644);
    expect(await readFile(path, 'utf8')).toBe(serializeSbom(doc));
    const link = join(dir, 'link.json');
    await symlink(path, link);
    await writeSbom(link, buildSbom('spdx', single));
    expect((await stat(path)).ino).toBe(after.ino);
    expect(JSON.parse(await readFile(path, 'utf8'))).toHaveProperty('spdxVersion', 'SPDX-2.3');
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
