import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImageRoot, type ImageRoot } from '../../src/engine/native/index.js';
import { LayerCache } from '../../src/layers/cache.js';
import { silentLogger } from '../../src/log.js';
import type { Image } from '../../src/oci/image.js';
import { readOciLayout } from '../../src/oci/layout/index.js';
import { chooseManager } from '../../src/pkgmgr/index.js';
import type { PackageManager, PackageManagerContext } from '../../src/pkgmgr/types.js';
import { buildkitdMissing, startBuildkitd } from '../helpers/buildkitd.js';
import { copa } from '../helpers/cli.js';
import { run } from '../helpers/exec.js';
import { startRegistry } from '../helpers/registry.js';
import { ensureDebianFixture, pushFixture } from '../helpers/fixtures.js';
import {
  ALMA,
  buildTestPackages,
  layoutOf,
  macrosLayer,
  makeRepo,
  payloadPath,
  rpmDistroLayer,
  rpmQuery,
  serveDir,
  type ServedDir,
} from '../helpers/rpm-fixtures.js';
import { withUnpackedImage } from '../helpers/upgradable.js';

/**
 * A tool-less RPM image (an rpm database and the packages' files, no rpm, no dnf, no shell: "AlmaLinux 9.4")
 * patched through a locally built tooling image with dnf: the native engine's tooling root runs dnf
 * `--installroot` on the image bound at /tmp/rootfs (COPA-BEHAVIOUR §2.6 "missing tools"). Real dnf, rpm,
 * createrepo_c, overlayfs; the layer is applied with umoci and the result read with the host's rpm.
 *
 * The patch flow picks this manager through chooseManager(); this test drives the same steps the flow does
 * (probe, tooling root, cache binding, refresh, simulate, apply, installed, layer) directly on the engine.
 */

let work: string;
let repo: ServedDir;
let cache: LayerCache;
let imageLayout: string;
let imageDirs: string[];
let toolingDirs: string[];
let toolingLayout: { layoutDir: string; refName: string };
let imageRef: { layoutDir: string; refName: string };
const os = { type: 'almalinux', version: ALMA.versionId };

async function layerDirs(layoutDir: string): Promise<string[]> {
  const image = (await readOciLayout(layoutDir, 'x')) as Image;
  const dirs: string[] = [];
  for (const layer of await image.layers()) dirs.push(await cache.ensure(layer));
  return dirs;
}

function isExcluded(rel: string, excluded: readonly string[]): boolean {
  const p = '/' + rel.replace(/^\/+/, '').replace(/\/+$/, '');
  return excluded.some((e) => p === e || p.startsWith(e + '/'));
}

/** The flow's steps for one manager on an opened root; returns what the package manager reported. */
async function patchWith(root: ImageRoot, pm: PackageManager, names: string[] | null) {
  const ctx: PackageManagerContext = { session: root.session, logger: silentLogger, ignoreErrors: false };
  for (const path of pm.cachePaths) {
    const source = join(work, 'pkgcache', path.replaceAll('/', '_'));
    await mkdir(source, { recursive: true });
    await root.session.bind({ source, target: path, kind: 'dir' }, pm.cacheRoot ?? 'image');
  }
  const before = await pm.installed(ctx);
  await pm.refresh(ctx);
  const planned = await pm.simulate(ctx, names);
  await pm.apply(ctx, names);
  const after = await pm.installed(ctx);
  return { before, planned, after, excluded: [...root.session.created, ...pm.excludePaths] };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-rpm-toolless-'));
  cache = new LayerCache({ dir: join(work, 'cache') });
  const pkgs = await buildTestPackages(join(work, 'rpms'));
  repo = await serveDir(await makeRepo(join(work, 'repo'), [...pkgs.v1, ...pkgs.v2]));
  const image = await layoutOf(join(work, 'image'), [
    await rpmDistroLayer(join(work), { distro: ALMA, repoUrl: repo.url, install: pkgs.v1, macros: false }),
  ]);
  imageLayout = image.layoutDir;
  imageRef = image;
  const debian = await ensureDebianFixture({ name: 'bookworm-minbase', include: ['dnf', 'rpm'] });
  const tooling = await layoutOf(join(work, 'tooling'), [debian.rootfsTar, await macrosLayer(work)]);
  toolingLayout = tooling;
  imageDirs = await layerDirs(imageLayout);
  toolingDirs = await layerDirs(tooling.layoutDir);
}, 900_000);

afterAll(async () => {
  await repo?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('tool-less RPM image through a dnf tooling image', () => {
  it('the probe sees an rpmdb without tools and asks for a dnf tooling image', async () => {
    const root = await openImageRoot({
      layerDirs: imageDirs,
      workDir: await mkdtemp(join(work, 'probe-')),
      logger: silentLogger,
    });
    try {
      const pm = await chooseManager(os, root.session, { reportMode: false, ignoreErrors: false });
      expect(pm.name).toBe('rpm-dnf-chroot');
      expect(pm.tooling?.targetPath).toBe('/tmp/rootfs');
      expect(pm.tooling?.images(os)).toEqual(['docker.io/library/almalinux:9']);
    } finally {
      await root.session.close();
    }
  });

  it('dnf --installroot upgrades the image; the layer holds only the image changes', async () => {
    const workDir = await mkdtemp(join(work, 'patch-'));
    let root = await openImageRoot({ layerDirs: imageDirs, workDir, logger: silentLogger });
    const pm = await chooseManager(os, root.session, { reportMode: false, ignoreErrors: false });
    await root.session.close();
    const target = pm.tooling?.targetPath ?? '';
    root = await openImageRoot({
      layerDirs: imageDirs,
      workDir: await mkdtemp(join(work, 'patch-')),
      logger: silentLogger,
      tooling: { layerDirs: toolingDirs, targetPath: target },
    });
    let result: Awaited<ReturnType<typeof patchWith>>;
    try {
      result = await patchWith(root, pm, null);
    } finally {
      await root.session.close();
    }
    expect(result.before).toEqual(
      new Map([
        ['copa-hello', '1.0-1'],
        ['copa-lib', '1:1.0-1'],
      ]),
    );
    expect(result.planned).toEqual([
      { name: 'copa-hello', from: '1.0-1', to: '2.0-1' },
      { name: 'copa-lib', from: '1:1.0-1', to: '1:1.1-1' },
    ]);
    expect(result.after).toEqual(
      new Map([
        ['copa-hello', '2.0-1'],
        ['copa-lib', '1:1.1-1'],
      ]),
    );

    const layerTar = join(work, 'layer.tar');
    await root.writeLayer(layerTar, {
      compression: 'none',
      exclude: (rel) => isExcluded(rel, result.excluded),
    });
    const entries = execFileSync('tar', ['-tf', layerTar], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(entries.some((e) => e.endsWith('usr/share/copa-hello/version'))).toBe(true);
    expect(entries.some((e) => e.includes('var/lib/rpm/rpmdb.sqlite'))).toBe(true);
    // nothing of the tooling image, of dnf's cache and logs, or of the mount points
    expect(
      entries.filter((e) => /(^|\/)(usr\/bin|tmp\/rootfs|var\/cache\/dnf|var\/log\/(dnf|hawkey))/.test(e)),
    ).toEqual([]);

    // apply the layer with umoci (an independent tool) and read the rpmdb with the host's real rpm
    const patched = join(work, 'patched');
    await cp(imageLayout, join(patched, 'oci'), { recursive: true });
    await run('umoci', ['raw', 'add-layer', '--image', `${join(patched, 'oci')}:x`, layerTar]);
    await withUnpackedImage(join(patched, 'oci'), 'x', async (rootfs) => {
      expect(await rpmQuery(rootfs)).toEqual(
        new Map([
          ['copa-hello', '2.0-1'],
          ['copa-lib', '1:1.1-1'],
        ]),
      );
      expect((await readFile(join(rootfs, payloadPath('copa-hello')), 'utf8')).trim()).toBe('2.0');
      expect((await readFile(join(rootfs, payloadPath('copa-lib')), 'utf8')).trim()).toBe('1.1');
    });
    expect(repo.requests).toContain('/copa-hello-2.0-1.noarch.rpm');
  });
});

const BUILDKIT_MISSING = buildkitdMissing();

describe.skipIf(BUILDKIT_MISSING !== undefined)(`the CLI on both engines ${BUILDKIT_MISSING ?? ''}`, () => {
  it('--tooling-image: dnf --installroot from the tooling image gives the same versions natively and on BuildKit', async () => {
    const registry = await startRegistry();
    const buildkitd = await startBuildkitd({ insecureRegistries: [registry.host], name: 'rpm-toolless' });
    try {
      const src = (await pushFixture(imageRef.layoutDir, imageRef.refName, registry.host, 'alma:9.4'))
        .reference;
      const tool = (await pushFixture(toolingLayout.layoutDir, toolingLayout.refName, registry.host, 'dnf:1'))
        .reference;
      const installed: Array<Record<string, string>> = [];
      for (const engine of [[], ['--addr', buildkitd.addr]]) {
        const args = [
          'patch',
          '-i',
          src,
          '--tooling-image',
          tool,
          '--push',
          '--json',
          '-t',
          `9.4-${engine.length}`,
        ];
        const r = await copa([...args, '--cache-dir', join(work, 'cli-cache'), ...engine]);
        expect(r.stderr).not.toMatch(/^Error/m);
        expect(r.code).toBe(0);
        installed.push((JSON.parse(r.stdout) as { installed: Record<string, string> }).installed);
      }
      expect(installed[0]).toEqual({ 'copa-hello': '2.0-1', 'copa-lib': '1:1.1-1' });
      expect(installed[1]).toEqual(installed[0]);
    } finally {
      await buildkitd.stop();
      await registry.stop();
    }
  });
});
