import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildkitdMissing, startBuildkitd, type TestBuildkitd } from '../helpers/buildkitd.js';
import { copa } from '../helpers/cli.js';
import { pushFixture } from '../helpers/fixtures.js';
import { layerEntries, rawManifest } from '../helpers/inspect.js';
import {
  ensureNodeFixture,
  grypeNodeReport,
  hostNpmRegistry,
  NODE_LIBS,
  trivyNodeReport,
  type NodeFixture,
  type NodeLib,
} from '../helpers/node-fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { withUnpackedImage } from '../helpers/upgradable.js';

/**
 * Node.js library patching through the CLI on a real image (Debian nodejs + npm, an app installed by a real
 * npm): direct, nested transitive and global packages replaced by their registry tarballs.
 */

let registry: TestRegistry;
let work: string;
let fixture: NodeFixture;
let image: string;
const LIBS = [NODE_LIBS.direct, NODE_LIBS.transitive, NODE_LIBS.global];
const env = { ...process.env, COPA_EXPERIMENTAL: '1' };
const npmRegistry = hostNpmRegistry();

function args(...a: string[]): string[] {
  return [
    ...a,
    '--pkg-types',
    'os,library',
    ...(npmRegistry ? ['--npm-registry', npmRegistry] : []),
    '-w',
    work,
    '--cache-dir',
    join(work, 'cache'),
  ];
}

/** `node -e` chrooted in the unpacked image: the version each package.json says node loads. */
function nodeVersion(root: string, path: string): string {
  const js = `console.log(require(${JSON.stringify(`/${path}`)}).version)`;
  return execFileSync('chroot', [root, 'node', '-e', js], { encoding: 'utf8' }).trim();
}

async function writeReport(name: string, text: string): Promise<string> {
  const f = join(work, name);
  await writeFile(f, text);
  return f;
}

/** Entries of the patch layer that must never be there: caches, tarballs, scratch dirs. */
function litter(layout: string, ref: string): string[] {
  const m = rawManifest(`oci:${layout}:${ref}`);
  const entries = layerEntries(layout, m.layers[m.layers.length - 1]!.digest);
  expect(entries.some((e) => e.includes('node_modules/minimist/'))).toBe(true);
  return entries.filter((e) =>
    /(^|\/)\.npm\/|^tmp\/|^run\/|\.tgz$|_cacache|^root\/|^home\/|copa-node-/.test(e),
  );
}

async function patchedVersions(layout: string, ref: string): Promise<Record<string, string>> {
  return withUnpackedImage(layout, ref, async (root) => {
    const out: Record<string, string> = {};
    for (const l of LIBS) out[l.name] = nodeVersion(root, l.path);
    out['json5 (top, other major)'] = nodeVersion(root, 'app/node_modules/json5/package.json');
    // the global package's bin link still runs
    out['semver bin'] = execFileSync('chroot', [root, '/usr/local/bin/semver', '-r', '>=7', '7.5.2'], {
      encoding: 'utf8',
    }).trim();
    const lock = JSON.parse(await readFile(join(root, 'app/package-lock.json'), 'utf8')) as {
      packages: Record<string, { version: string; integrity: string }>;
    };
    out['lock minimist'] = lock.packages['node_modules/minimist']!.version;
    out['lock json5'] = lock.packages['node_modules/loader-utils/node_modules/json5']!.version;
    return out;
  });
}

const fixed = {
  minimist: '1.2.6',
  json5: '1.0.2',
  semver: '7.5.2',
  'json5 (top, other major)': '2.2.1',
  'semver bin': '7.5.2',
  'lock minimist': '1.2.6',
  'lock json5': '1.0.2',
};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-node-'));
  registry = await startRegistry();
  fixture = await ensureNodeFixture();
  image = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'app/node:12')).reference;
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('node-pkg libraries', () => {
  it('Trivy report: direct, nested transitive and global packages at the fixed versions, lock file updated, no npm litter, VEX', async () => {
    const report = await writeReport('trivy.json', trivyNodeReport(image, LIBS));
    const out = join(work, 'out-trivy');
    const vex = join(work, 'vex.json');
    const r = await copa(
      args('patch', '-i', image, '-r', report, '--oci-dir', out, '-t', 'p1', '-o', vex),
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(await patchedVersions(out, 'p1')).toEqual(fixed);
    expect(litter(out, 'p1')).toEqual([]);
    const doc = JSON.parse(await readFile(vex, 'utf8')) as {
      statements: Array<{ vulnerability: { name: string } }>;
    };
    expect(doc.statements.map((s) => s.vulnerability.name).sort()).toEqual([
      'CVE-2099-2000',
      'CVE-2099-2001',
      'CVE-2099-2002',
    ]);
  });

  it('Grype report of the same findings (-s grype)', async () => {
    const report = await writeReport('grype.json', grypeNodeReport(image, LIBS));
    const out = join(work, 'out-grype');
    const r = await copa(
      args('patch', '-i', image, '-r', report, '-s', 'grype', '--oci-dir', out, '-t', 'p2'),
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(await patchedVersions(out, 'p2')).toEqual(fixed);
  });

  it('--dry-run --json lists the library updates and writes nothing', async () => {
    const report = await writeReport('trivy-dry.json', trivyNodeReport(image, LIBS));
    const out = join(work, 'out-dry');
    const r = await copa(
      args('patch', '-i', image, '-r', report, '--dry-run', '--json', '--oci-dir', out),
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const text = r.stdout;
    const plan = JSON.parse(text) as unknown;
    const libs = JSON.stringify(plan);
    for (const [l, path] of [
      [NODE_LIBS.direct, '/app'],
      [NODE_LIBS.transitive, '/app'],
      [NODE_LIBS.global, '/usr/local/lib/node_modules'],
    ] as Array<[NodeLib, string]>) {
      expect(libs).toContain(
        JSON.stringify({ type: 'node-pkg', name: l.name, path, from: l.from, to: l.to }),
      );
    }
    expect(() => execFileSync('ls', [out], { stdio: 'ignore' })).toThrow();
  });

  it('a version the registry does not have: one-line error; --ignore-errors patches the rest and leaves it out of VEX', async () => {
    const bad = [{ ...NODE_LIBS.direct, fixed: '1.2.999' }, NODE_LIBS.global];
    const report = await writeReport('trivy-bad.json', trivyNodeReport(image, bad));
    const r = await copa(
      args('patch', '-i', image, '-r', report, '--oci-dir', join(work, 'out-bad'), '-t', 'p3'),
      env,
    );
    expect(r.code).not.toBe(0);
    const errLine = r.stderr.split('\n').find((l) => l.includes('minimist@1.2.999')) ?? '';
    expect(errLine, r.stderr).toMatch(/npm pack minimist@1\.2\.999/);

    const out = join(work, 'out-ignore');
    const vex = join(work, 'vex-ignore.json');
    const ok = await copa(
      args('patch', '-i', image, '-r', report, '--ignore-errors', '--oci-dir', out, '-t', 'p4', '-o', vex),
      env,
    );
    expect(ok.code, ok.stderr).toBe(0);
    const doc = JSON.parse(await readFile(vex, 'utf8')) as {
      statements: Array<{ vulnerability: { name: string } }>;
    };
    expect(doc.statements.map((s) => s.vulnerability.name)).toEqual(['CVE-2099-2001']);
    const versions = await withUnpackedImage(out, 'p4', (root) =>
      Promise.resolve([nodeVersion(root, NODE_LIBS.direct.path), nodeVersion(root, NODE_LIBS.global.path)]),
    );
    expect(versions).toEqual(['1.2.5', '7.5.2']);
  });

  it('no npm in the image: npm from a node tooling image (COPA_TOOLING_IMAGE_MAP), same result', async () => {
    const major = fixture.nodeVersion.split('.')[0] ?? '';
    const nonpm = (await pushFixture(fixture.layoutDir, fixture.noNpmRef, registry.host, 'app/node:nonpm'))
      .reference;
    await pushFixture(fixture.layoutDir, fixture.refName, registry.host, `library/node:${major}-alpine`);
    const report = await writeReport('trivy-nonpm.json', trivyNodeReport(nonpm, LIBS));
    const out = join(work, 'out-nonpm');
    const map = { ...env, COPA_TOOLING_IMAGE_MAP: `docker.io/library/=${registry.host}/library/` };
    const r = await copa(args('patch', '-i', nonpm, '-r', report, '--oci-dir', out, '-t', 'p5'), map);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`node:${major}-alpine`);
    expect(await patchedVersions(out, 'p5')).toEqual(fixed);
    expect(litter(out, 'p5')).toEqual([]);
  });
});

const BK_MISSING = buildkitdMissing();

describe.skipIf(BK_MISSING !== undefined)(
  `node-pkg on the BuildKit engine (--addr) ${BK_MISSING ?? ''}`,
  () => {
    let buildkitd: TestBuildkitd;
    beforeAll(async () => {
      buildkitd = await startBuildkitd({ insecureRegistries: [registry.host], name: 'node' });
    }, 300_000);
    afterAll(async () => {
      await buildkitd?.stop();
    });

    it('direct, nested and global packages at the fixed versions through the daemon, lock file updated, no npm litter', async () => {
      const report = await writeReport('trivy-bk.json', trivyNodeReport(image, LIBS));
      const out = join(work, 'out-bk');
      const r = await copa(
        args('patch', '-i', image, '-r', report, '--oci-dir', out, '-t', 'bk', '--addr', buildkitd.addr),
        env,
      );
      expect(r.stderr).not.toMatch(/^Error/m);
      expect(r.code).toBe(0);
      expect(await patchedVersions(out, 'bk')).toEqual(fixed);
      expect(litter(out, 'bk')).toEqual([]);
    });
  },
);
