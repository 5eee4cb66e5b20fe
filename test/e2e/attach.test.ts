import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copa } from '../helpers/cli.js';
import { writeBookwormReport } from '../helpers/debian-report.js';
import { ensureDebianFixture, pushFixture, type PushedImage } from '../helpers/fixtures.js';
import { dpkgGe, tagExists } from '../helpers/inspect.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { cycloneDxErrors, spdxErrors } from '../helpers/sbom-schema.js';
import { upgradablePackages, type Upgradable } from '../helpers/upgradable.js';

/**
 * --push --attach on real parts: the bookworm fixture in the real local registry (Debian's docker-registry
 * 2.8, which has no referrers API: GET /v2/<name>/referrers/<digest> is a plain 404, so copa keeps the
 * referrers tag schema's `sha256-<hex>` index), the real CLI and the image's own apt. The referrers are
 * listed back here with plain HTTP, their documents fetched and checked against the official schemas.
 */

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const EMPTY = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

let registry: TestRegistry;
let upgradable: Upgradable[];
let work: string;
let cacheDir: string;
let source: PushedImage;

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}
interface Referrer {
  artifactType: string;
  digest: string;
  subject: string;
  via: string;
  action: string;
  platform?: string;
}

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function patch(args: string[]) {
  return copa([...args, '--cache-dir', cacheDir, '-w', work]);
}

async function get(
  path: string,
  accept = `${INDEX}, ${MANIFEST}`,
): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(`http://${registry.host}/v2/${path}`, { headers: { accept } });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

async function put(path: string, body: Buffer, type: string): Promise<number> {
  const res = await fetch(`http://${registry.host}/v2/${path}`, {
    method: 'PUT',
    body,
    headers: { 'content-type': type },
  });
  await res.arrayBuffer();
  return res.status;
}

async function pushBlob(repo: string, blob: Buffer): Promise<string> {
  const start = await fetch(`http://${registry.host}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await start.arrayBuffer();
  const loc = new URL(start.headers.get('location') ?? '', `http://${registry.host}`);
  loc.searchParams.set('digest', sha(blob));
  const res = await fetch(loc, {
    method: 'PUT',
    body: blob,
    headers: { 'content-type': 'application/octet-stream' },
  });
  await res.arrayBuffer();
  expect(res.status).toBe(201);
  return sha(blob);
}

/** The referrers of `digest` as any client finds them on this registry: the fallback tag's index. */
async function fallbackIndex(repo: string, digest: string): Promise<Desc[]> {
  const r = await get(`${repo}/manifests/${digest.replace(':', '-')}`);
  expect(r.status).toBe(200);
  const index = JSON.parse(r.body.toString()) as { mediaType: string; manifests: Desc[] };
  expect(index.mediaType).toBe(INDEX);
  return index.manifests;
}

/** An artifact's manifest and its one document, with the OCI 1.1 shape checked. */
async function artifact(repo: string, desc: Desc, subject: string): Promise<unknown> {
  const m = await get(`${repo}/manifests/${desc.digest}`, MANIFEST);
  expect(sha(m.body)).toBe(desc.digest);
  const manifest = JSON.parse(m.body.toString()) as {
    artifactType: string;
    config: Desc;
    layers: Desc[];
    subject: Desc;
  };
  expect(manifest.artifactType).toBe(desc.artifactType);
  expect(manifest.config).toMatchObject({
    mediaType: 'application/vnd.oci.empty.v1+json',
    digest: EMPTY,
    size: 2,
  });
  expect(manifest.subject.digest).toBe(subject);
  expect(manifest.layers).toHaveLength(1);
  const layer = manifest.layers[0] as Desc;
  expect(layer.mediaType).toBe(desc.artifactType);
  const blob = await get(`${repo}/blobs/${layer.digest}`, '*/*');
  expect(sha(blob.body)).toBe(layer.digest);
  return JSON.parse(blob.body.toString()) as unknown;
}

/** Problems of an OpenVEX document against the vendored official schema ([] when valid). */
async function vexErrors(doc: unknown): Promise<string[]> {
  const schema = JSON.parse(
    await readFile(new URL('../../src/vex/openvex.schema.json', import.meta.url), 'utf8'),
  ) as object;
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
  addFormats.default(ajv);
  return ajv.validate(schema, doc)
    ? []
    : (ajv.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-attach-'));
  cacheDir = join(work, 'cache');
  registry = await startRegistry();
  const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  upgradable = await upgradablePackages(fixture);
  source = await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12');
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('copa patch --push --attach', () => {
  it('the fixture has a package behind the security suite today', () => {
    expect(upgradable.length).toBeGreaterThanOrEqual(1);
  });

  it('this registry (docker-registry 2.8) has no referrers API: GET /v2/<name>/referrers/<digest> is 404', async () => {
    const r = await get(`debian/referrers/${source.digest}`);
    expect(r.status).toBe(404);
  });

  it('--attach without --push: one usage line, exit 2, nothing pushed', async () => {
    const r = await copa(['patch', '-i', source.reference, '--attach', '--oci-dir', join(work, 'never')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--attach needs --push/);
    expect(tagExists(`${registry.host}/debian:12-patched`)).toBe(false);
  });

  it('report mode: SBOM (CycloneDX) and VEX pushed as referrers of the patched manifest, listed back, schema-valid', async () => {
    const chosen = upgradable.slice(0, 2);
    const report = join(work, 'report.json');
    await writeBookwormReport(report, source.reference, chosen);
    const r = await patch(['patch', '-i', source.reference, '-r', report, '--push', '--attach', '--json']);
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { status: string; digest: string; referrers: Referrer[] };
    expect(result.status).toBe('Patched');
    // the tag points at the manifest the referrers name
    const tagged = await get('debian/manifests/12-patched', MANIFEST);
    expect(sha(tagged.body)).toBe(result.digest);

    expect(result.referrers.map((x) => x.artifactType)).toEqual([
      'application/vnd.cyclonedx+json',
      'application/vnd.openvex+json',
    ]);
    for (const ref of result.referrers) {
      expect(ref).toMatchObject({ subject: result.digest, via: 'tag-schema', action: 'attached' });
    }
    expect(r.stderr).toMatch(/REFERRER\s+ARTIFACT TYPE\s+SUBJECT/);

    const listed = await fallbackIndex('debian', result.digest);
    expect(listed.map((d) => d.digest)).toEqual(result.referrers.map((x) => x.digest));
    for (const d of listed) {
      expect(d.mediaType).toBe(MANIFEST);
      expect(d.annotations?.['org.opencontainers.image.created']).toMatch(/^\d{4}-\d\d-\d\dT/);
    }

    const bom = (await artifact('debian', listed[0] as Desc, result.digest)) as {
      metadata: { component: { version: string } };
      components: Array<{ name: string; version?: string; purl?: string }>;
    };
    expect(cycloneDxErrors(bom)).toEqual([]);
    expect(bom.metadata.component.version).toBe(result.digest);
    for (const u of chosen) {
      const c = bom.components.find((x) => x.name === u.name && x.purl?.startsWith('pkg:deb/'));
      expect(dpkgGe(c?.version ?? '0', u.to), `${u.name} ${c?.version} >= ${u.to}`).toBe(true);
    }

    const vex = (await artifact('debian', listed[1] as Desc, result.digest)) as {
      statements: Array<{ status: string; products: Array<{ '@id': string }> }>;
    };
    expect(await vexErrors(vex)).toEqual([]);
    expect(vex.statements.length).toBe(chosen.length);
    for (const st of vex.statements) {
      expect(st.status).toBe('fixed');
      expect(st.products[0]?.['@id']).toContain(result.digest);
    }

    // `copa referrers` lists the same, as a user would ask
    const ls = await copa(['referrers', `${registry.host}/debian:12-patched`, '--json']);
    expect(ls.code, ls.stderr).toBe(0);
    const found = JSON.parse(ls.stdout) as Array<{ subject: string; via: string; referrers: Desc[] }>;
    expect(found).toEqual([{ subject: result.digest, via: 'tag-schema', referrers: listed }]);
    const human = await copa(['referrers', `${registry.host}/debian:12-patched`]);
    expect(human.stdout).toContain(`2 referrer(s) of ${registry.host}/debian:12-patched (${result.digest})`);
  });

  it('multi-platform (report dir) into another repository: the patched platform gets its SBOM (SPDX) and VEX; the preserved one keeps its signature (copied)', async () => {
    // a stand-in signature of the source manifest, as another tool would push it (fallback tag schema)
    const sigBlob = Buffer.from('{"critical":{"image":{"docker-manifest-digest":"' + source.digest + '"}}}');
    await pushBlob('debian', Buffer.from('{}'));
    await pushBlob('debian', sigBlob);
    const head = await get(`debian/manifests/${source.digest}`, MANIFEST);
    const sigType = 'application/vnd.dev.cosign.artifact.sig.v1+json';
    const sig = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST,
        artifactType: sigType,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: EMPTY, size: 2 },
        layers: [{ mediaType: sigType, digest: sha(sigBlob), size: sigBlob.length }],
        subject: { mediaType: MANIFEST, digest: source.digest, size: head.body.length },
      }),
    );
    expect(await put(`debian/manifests/${sha(sig)}`, sig, MANIFEST)).toBe(201);
    const sigIndex = {
      schemaVersion: 2,
      mediaType: INDEX,
      manifests: [{ mediaType: MANIFEST, digest: sha(sig), size: sig.length, artifactType: sigType }],
    };
    expect(
      await put(
        `debian/manifests/${source.digest.replace(':', '-')}`,
        Buffer.from(JSON.stringify(sigIndex)),
        INDEX,
      ),
    ).toBe(201);

    // an index of the amd64 fixture and a stand-in linux/arm64 entry (the same manifest), which a report
    // directory with only an amd64 report leaves preserved (no emulation needed)
    const desc = (architecture: string) => ({
      mediaType: MANIFEST,
      digest: source.digest,
      size: head.body.length,
      platform: { os: 'linux', architecture },
    });
    const index = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [desc('amd64'), desc('arm64')] }),
    );
    expect(await put('debian/manifests/multi', index, INDEX)).toBe(201);

    const reports = join(work, 'reports');
    await mkdir(reports);
    const chosen = upgradable.slice(0, 1);
    await writeBookwormReport(join(reports, 'amd64.json'), `${registry.host}/debian:multi`, chosen);
    const r = await patch([
      'patch',
      '-i',
      `${registry.host}/debian:multi`,
      '-r',
      reports,
      '-t',
      `${registry.host}/mirror:multi-patched`,
      '--push',
      '--attach',
      '--sbom-format',
      'spdx',
      '--json',
    ]);
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as {
      status: string;
      platforms: Array<{ platform: string; status: string; digest?: string }>;
      referrers: Referrer[];
    };
    expect(result.status).toBe('Patched');
    const amd = result.platforms.find((p) => p.status === 'Patched');
    expect(amd?.platform).toBe('linux/amd64');
    expect(result.platforms.find((p) => p.platform === 'linux/arm64')?.status).toBe('Preserved');

    const attached = result.referrers.filter((x) => x.action === 'attached');
    expect(attached.map((x) => [x.artifactType, x.subject, x.platform])).toEqual([
      ['application/spdx+json', amd?.digest, 'linux/amd64'],
      ['application/vnd.openvex+json', amd?.digest, 'linux/amd64'],
    ]);
    const listed = await fallbackIndex('mirror', amd?.digest ?? '');
    expect(listed.map((d) => d.digest)).toEqual(attached.map((x) => x.digest));
    const spdx = (await artifact('mirror', listed[0] as Desc, amd?.digest ?? '')) as object;
    expect(spdxErrors(spdx)).toEqual([]);
    const vex = (await artifact('mirror', listed[1] as Desc, amd?.digest ?? '')) as {
      statements: Array<{ products: Array<{ '@id': string }> }>;
    };
    expect(await vexErrors(vex)).toEqual([]);
    expect(vex.statements).toHaveLength(chosen.length);
    for (const st of vex.statements) expect(st.products[0]?.['@id']).toContain(amd?.digest ?? '?');

    // the preserved platform's signature now also lives in the target repository, still naming its subject
    const copied = result.referrers.filter((x) => x.action === 'copied');
    expect(copied).toEqual([
      expect.objectContaining({
        digest: sha(sig),
        subject: source.digest,
        artifactType: sigType,
        platform: 'linux/arm64',
      }),
    ]);
    const inMirror = await fallbackIndex('mirror', source.digest);
    expect(inMirror.map((d) => d.digest)).toEqual([sha(sig)]);
    expect(await artifact('mirror', inMirror[0] as Desc, source.digest)).toEqual(
      JSON.parse(sigBlob.toString()),
    );

    // `copa referrers` on the index: none on the index itself, then each platform manifest's
    const ls = await copa(['referrers', `${registry.host}/mirror:multi-patched`, '--json']);
    expect(ls.code, ls.stderr).toBe(0);
    const found = JSON.parse(ls.stdout) as Array<{ platform?: string; referrers: Desc[] }>;
    expect(found.map((f) => [f.platform, f.referrers.map((d) => d.digest)])).toEqual([
      [undefined, []],
      ['linux/amd64', attached.map((x) => x.digest)],
      ['linux/arm64', [sha(sig)]],
    ]);
  });
});
