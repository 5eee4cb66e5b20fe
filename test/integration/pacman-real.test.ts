import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildkitdMissing, startBuildkitd, type TestBuildkitd } from '../helpers/buildkitd.js';
import { copa } from '../helpers/cli.js';
import { ensureDebianFixture, pushFixture } from '../helpers/fixtures.js';
import { lastLayerListing, pullToLayout, rawManifest } from '../helpers/inspect.js';
import {
  archLayer,
  buildPacmanPackages,
  makePacmanRepo,
  pacmanMissing,
  pacmanQuery,
  payloadPath,
} from '../helpers/pacman-fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { layoutOf, serveDir, type ServedDir } from '../helpers/rpm-fixtures.js';
import { trivyReport } from '../helpers/trivy.js';
import { withUnpackedImage } from '../helpers/upgradable.js';

/**
 * pacman for real: self-made `any` packages at two versions in a repo-add repository served on 127.0.0.1; an
 * image whose filesystem has pacman (a Debian root with Debian's pacman, turned into an "Arch Linux" image by
 * a layer with os-release, pacman.conf and a local database written by the real pacman). The real CLI patches
 * it with pacman inside the image, on the native engine and on a real buildkitd; the result's database is
 * read with the host's real pacman.
 */

const MISSING = pacmanMissing();
const BUILDKIT_MISSING = buildkitdMissing();

let registry: TestRegistry;
let repo: ServedDir;
let work: string;
let cacheDir: string;
let source: string;

async function installedIn(ref: string): Promise<{ pkgs: Map<string, string>; hello: string }> {
  const layout = await pullToLayout(ref, work);
  return withUnpackedImage(layout, 'x', async (rootfs) => ({
    pkgs: await pacmanQuery(rootfs),
    hello: (await readFile(join(rootfs, payloadPath('copa-hello')), 'utf8')).trim(),
  }));
}

const newLayer = (ref: string): Promise<string[]> => lastLayerListing(ref, work);

const json = (stdout: string) =>
  JSON.parse(stdout) as { status: string; installed: Record<string, string>; plan: { updates: unknown[] } };

beforeAll(async () => {
  if (MISSING !== undefined) return;
  work = await mkdtemp(join(tmpdir(), 'copa-pacman-'));
  cacheDir = join(work, 'cache');
  registry = await startRegistry();
  const pkgs = await buildPacmanPackages(join(work, 'pkgs'));
  repo = await serveDir(await makePacmanRepo(join(work, 'repo'), [...pkgs.v1, ...pkgs.v2]));
  const debian = await ensureDebianFixture({ name: 'bookworm-minbase', include: ['pacman-package-manager'] });
  const layer = await archLayer(work, { repoUrl: repo.url, install: pkgs.v1 });
  const layout = await layoutOf(join(work, 'image'), [debian.rootfsTar, layer]);
  source = (await pushFixture(layout.layoutDir, layout.refName, registry.host, 'arch:base')).reference;
}, 900_000);

afterAll(async () => {
  await repo?.close();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe.skipIf(MISSING !== undefined)(
  `copa patch on an Arch image with the real pacman ${MISSING ?? ''}`,
  () => {
    it('the fixture holds the old packages (read with the real pacman)', async () => {
      const { pkgs, hello } = await installedIn(source);
      expect(pkgs.get('copa-hello')).toBe('1.0-1');
      expect(pkgs.get('copa-lib')).toBe('1:1.0-1');
      expect(hello).toBe('1.0');
    });

    it('dry run: the plan comes from pacman -Sy and pacman -Qu', async () => {
      const r = await copa(['patch', '-i', source, '--dry-run', '--cache-dir', cacheDir]);
      expect(r.stderr).not.toMatch(/Error/);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('copa-hello 1.0-1 -> 2.0-1');
      expect(r.stdout).toContain('copa-lib 1:1.0-1 -> 1:1.1-1');
    });

    it('update-all: pacman -Su upgrades both; one layer without pacman caches, sync dbs, log or lock', async () => {
      const r = await copa(['patch', '-i', source, '--push', '--json', '--cache-dir', cacheDir]);
      expect(r.stderr).not.toMatch(/^Error/m);
      expect(r.code).toBe(0);
      expect(json(r.stdout).status).toBe('Patched');
      expect(json(r.stdout).installed).toEqual({ 'copa-hello': '2.0-1', 'copa-lib': '1:1.1-1' });
      const patched = `${registry.host}/arch:base-patched`;
      const { pkgs, hello } = await installedIn(patched);
      expect(pkgs.get('copa-hello')).toBe('2.0-1');
      expect(pkgs.get('copa-lib')).toBe('1:1.1-1');
      expect(hello).toBe('2.0');
      expect(rawManifest(patched).layers).toHaveLength(rawManifest(source).layers.length + 1);
      const entries = await newLayer(patched);
      expect(entries.some((e) => e.endsWith(' var/lib/pacman/local/copa-hello-2.0-1/desc'))).toBe(true);
      expect(entries.some((e) => e.endsWith(' usr/share/copa-hello/version'))).toBe(true);
      expect(
        entries.filter((e) =>
          /var\/cache\/pacman\/pkg\/.|var\/lib\/pacman\/sync\/.|pacman\.log|db\.lck/.test(e),
        ),
      ).toEqual([]);
      expect(repo.requests.some((p) => p.startsWith('/copa-hello-2.0-1-any.pkg.tar'))).toBe(true);
    });

    it('report mode: only the reported package moves', async () => {
      const report = join(work, 'report.json');
      await writeFile(
        report,
        trivyReport({
          family: 'arch',
          version: 'rolling',
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
        'report',
        '--push',
        '--cache-dir',
        cacheDir,
      ]);
      expect(r.stderr).not.toMatch(/^Error/m);
      expect(r.code).toBe(0);
      const { pkgs } = await installedIn(`${registry.host}/arch:report`);
      expect(pkgs.get('copa-hello')).toBe('2.0-1');
      expect(pkgs.get('copa-lib')).toBe('1:1.0-1');
    });

    describe.skipIf(BUILDKIT_MISSING !== undefined)(
      `on the BuildKit engine ${BUILDKIT_MISSING ?? ''}`,
      () => {
        let buildkitd: TestBuildkitd;
        beforeAll(async () => {
          buildkitd = await startBuildkitd({ insecureRegistries: [registry.host], name: 'pacman' });
        }, 300_000);
        afterAll(async () => {
          await buildkitd?.stop();
        });

        it('update-all through a real buildkitd: the same versions and the same layer entries as natively', async () => {
          const r = await copa([
            'patch',
            '-i',
            source,
            '-t',
            'bk',
            '--push',
            '--json',
            '--addr',
            buildkitd.addr,
          ]);
          expect(r.stderr).not.toMatch(/^Error/m);
          expect(r.code).toBe(0);
          expect(json(r.stdout).installed).toEqual({ 'copa-hello': '2.0-1', 'copa-lib': '1:1.1-1' });
          const { pkgs, hello } = await installedIn(`${registry.host}/arch:bk`);
          expect(pkgs.get('copa-lib')).toBe('1:1.1-1');
          expect(hello).toBe('2.0');
          const bk = await newLayer(`${registry.host}/arch:bk`);
          const native = await newLayer(`${registry.host}/arch:base-patched`);
          expect(bk.filter((e) => !native.includes(e))).toEqual([]);
          expect(native.filter((e) => !bk.includes(e))).toEqual([]);
        });
      },
    );
  },
);
