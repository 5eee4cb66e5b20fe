import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copa } from '../helpers/cli.js';
import { dpkgGe, layerEntries, pullToLayout, rawManifest, tagExists } from '../helpers/inspect.js';
import { distrolessUpdates, ensureDistrolessFixture } from '../helpers/distroless.js';
import { releaseBody, startEolApiStub } from '../helpers/eol-stub.js';
import { ensureDebianFixture, pushFixture } from '../helpers/fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { trivyReport } from '../helpers/trivy.js';
import { installedVersions, withUnpackedImage, type Upgradable } from '../helpers/upgradable.js';

/**
 * Google-distroless Debian images (status.d, no apt/dpkg/shell) patched through a tooling image that the test
 * builds locally (the bookworm fixture, pushed to the local registry: no public registry is reachable here).
 */

let registry: TestRegistry;
let work: string;
let cacheDir: string;
let target: string;
let tooling: string;
let updates: Upgradable[];

const args = (...a: string[]) => [...a, '--cache-dir', cacheDir, '-w', work];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-distroless-'));
  cacheDir = join(work, 'cache');
  registry = await startRegistry();
  const fixture = await ensureDistrolessFixture();
  updates = await distrolessUpdates(fixture);
  target = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'distroless/base:12'))
    .reference;
  const deb = await ensureDebianFixture({ name: 'bookworm-minbase' });
  tooling = (await pushFixture(deb.layoutDir, deb.refName, registry.host, 'mirror/debian:12-slim')).reference;
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('distroless Debian images', () => {
  it('report mode with --tooling-image: status.d entries and binaries updated, no dpkg/apt leftovers, VEX written', async () => {
    const chosen = updates.filter((u) => ['libssl3', 'openssl'].includes(u.name));
    expect(chosen.length, 'libssl3/openssl lag the security suite in the fixture').toBeGreaterThan(0);
    const report = join(work, 'report.json');
    await writeFile(
      report,
      trivyReport({
        family: 'debian',
        version: '12',
        arch: 'amd64',
        image: target,
        vulns: chosen.map((u) => ({ pkg: u.name, installed: u.from, fixed: u.to })),
      }),
    );
    const vex = join(work, 'vex.json');
    const r = await copa(
      args('patch', '-i', target, '-r', report, '--tooling-image', tooling, '--push', '--json', '-o', vex),
    );
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { digest: string };

    const before = rawManifest(target);
    const after = rawManifest(`${registry.host}/distroless/base:12-patched`);
    expect(after.layers).toHaveLength(before.layers.length + 1);
    const layout = await pullToLayout(`${registry.host}/distroless/base:12-patched`, work);
    const entries = layerEntries(layout, after.layers[after.layers.length - 1]!.digest);
    for (const u of chosen) {
      expect(entries).toContain(`var/lib/dpkg/status.d/${u.name}`);
      expect(entries).toContain(`var/lib/dpkg/status.d/${u.name}.md5sums`);
    }
    expect(
      entries.filter((e) => /^var\/lib\/dpkg\/(status$|info\/|available|lock|triggers|updates)/.test(e)),
    ).toEqual([]);
    expect(
      entries.filter(
        (e) =>
          e.startsWith('var/lib/apt') ||
          e.startsWith('var/cache/apt') ||
          e.endsWith('.deb') ||
          e.startsWith('tmp/'),
      ),
    ).toEqual([]);
    await withUnpackedImage(layout, 'x', async (root) => {
      const versions = await installedVersions(root);
      for (const u of chosen)
        expect(dpkgGe(versions.get(u.name) ?? '0', u.to), `${u.name} >= ${u.to}`).toBe(true);
      const ssl = chosen.find((u) => u.name === 'openssl') ?? chosen[0]!;
      const out = execFileSync('chroot', [root, 'openssl', 'version'], { encoding: 'utf8' });
      expect(out).toContain(`OpenSSL ${ssl.to.split('-')[0]}`);
    });

    const doc = JSON.parse(await readFile(vex, 'utf8')) as {
      statements: Array<{
        products: Array<{ '@id': string; subcomponents?: Array<{ '@id': string }> }>;
        status: string;
      }>;
    };
    const schema = JSON.parse(
      await readFile(new URL('../../src/vex/openvex.schema.json', import.meta.url), 'utf8'),
    ) as object;
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
    addFormats.default(ajv);
    expect(ajv.validate(schema, doc), JSON.stringify(ajv.errors)).toBe(true);
    expect(doc.statements.length).toBe(chosen.length);
    for (const st of doc.statements) {
      expect(st.status).toBe('fixed');
      expect(st.products[0]!['@id']).toBe(`pkg:oci/base@${result.digest}`);
      expect(st.products[0]!.subcomponents?.[0]?.['@id']).toMatch(
        /^pkg:deb\/debian\/[a-z0-9.+-]+@.+\?arch=amd64&distro=debian-12$/,
      );
    }
  });

  it('update-all through COPA_TOOLING_IMAGE_MAP; an EOL answer from the (stub) API is a warning, or fatal with --exit-on-eol', async () => {
    // the second run's answer comes 5 s late: the check runs alongside the package lists' refresh
    const stub = await startEolApiStub((path, n) =>
      path.endsWith('/debian/releases/12')
        ? {
            status: 200,
            body: releaseBody('12', { isEol: true, eolFrom: '2026-06-10', isMaintained: false }),
            ...(n > 0 ? { delayMs: 5000 } : {}),
          }
        : { status: 404 },
    );
    const env = {
      ...process.env,
      COPA_TOOLING_IMAGE_MAP: `ghcr.io/project-copacetic/copacetic/=${registry.host}/mirror/,docker.io/library/=${registry.host}/mirror/`,
    };
    try {
      const fatal = await copa(
        args('patch', '-i', target, '--push', '-t', 'eol', '--eol-api-url', stub.apiUrl, '--exit-on-eol'),
        env,
      );
      expect(fatal.code).toBe(1);
      expect(fatal.stderr).toContain('exiting due to EOL operating system: debian 12');
      expect(tagExists(`${registry.host}/distroless/base:eol`)).toBe(false);

      const r = await copa(
        args('patch', '-i', target, '--push', '-t', 'all', '--eol-api-url', stub.apiUrl),
        env,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/debian 12 is end-of-life/);
      // not waited for before the refresh started (it used to be), only before anything was installed
      const at = (re: RegExp): number => r.stderr.search(re);
      expect(at(/Updating package lists/)).toBeGreaterThan(-1);
      expect(at(/Updating package lists/)).toBeLessThan(at(/debian 12 is end-of-life/));
      expect(at(/debian 12 is end-of-life/)).toBeLessThan(at(/Installing \d+ package update/));
      expect(r.stderr).toContain(`Using tooling image ${registry.host}/mirror/debian:12-slim`);
      expect(stub.requests.every((q) => q.userAgent === 'copacetic')).toBe(true);
    } finally {
      await stub.stop();
    }
    const layout = await pullToLayout(`${registry.host}/distroless/base:all`, work);
    await withUnpackedImage(layout, 'x', async (root) => {
      const versions = await installedVersions(root);
      for (const u of updates)
        expect(dpkgGe(versions.get(u.name) ?? '0', u.to), `${u.name} >= ${u.to}`).toBe(true);
    });
  });
});
