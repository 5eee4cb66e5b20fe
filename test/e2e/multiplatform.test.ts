import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copa } from '../helpers/cli.js';
import { dpkgGe, rawManifest, tagExists, type RawDescriptor } from '../helpers/inspect.js';
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
 * Multi-platform: an index of linux/amd64 + linux/arm64 images built from the Debian mirror (arm64 under
 * qemu-user), a third platform entry (windows/amd64) that must be preserved byte for byte, and attestation
 * manifests; patched with the real CLI, checked with skopeo, umoci, dpkg and an arm64 binary run under qemu.
 */

const BINFMT = '/proc/sys/fs/binfmt_misc';
const ARM_HANDLER = `${BINFMT}/qemu-aarch64`;
let mountedBinfmt = false;
let registry: TestRegistry;
let work: string;
let cacheDir: string;
let amd: { fixture: DebianFixture; up: Upgradable[]; digest: string };
let arm: { fixture: DebianFixture; up: Upgradable[]; digest: string };
let source: string;

type Desc = RawDescriptor;
// emulated apt on a 2-core CI machine can pass Copa's default 5m run timeout: allow more
const args = (...a: string[]) => [...a, '--cache-dir', cacheDir, '-w', work, '--timeout', '15m'];
const findPlatform = (m: Desc[], arch: string) =>
  m.find(
    (d) =>
      d.platform?.os === 'linux' &&
      d.platform.architecture === arch &&
      !d.annotations?.['vnd.docker.reference.type'],
  );

async function put(path: string, body: Buffer, type: string): Promise<void> {
  const res = await fetch(`http://${registry.host}/v2/${path}`, {
    method: 'PUT',
    body,
    headers: { 'content-type': type },
  });
  if (!res.ok) throw new Error(`PUT ${path}: ${res.status} ${await res.text()}`);
}
async function manifestSize(repo: string, digest: string): Promise<{ size: number; type: string }> {
  const res = await fetch(`http://${registry.host}/v2/${repo}/manifests/${digest}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  const body = Buffer.from(await res.arrayBuffer());
  return { size: body.length, type: res.headers.get('content-type') ?? '' };
}

beforeAll(async () => {
  if (!existsSync(`${BINFMT}/status`)) {
    execFileSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT]);
    mountedBinfmt = true;
  }
  if (!existsSync(ARM_HANDLER)) execFileSync('update-binfmts', ['--enable', 'qemu-aarch64']);
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-multi-'));
  cacheDir = join(work, 'cache');
  registry = await startRegistry();
  const build = async (arch: 'amd64' | 'arm64') => {
    const fixture = await ensureDebianFixture({ name: 'bookworm-minbase', arch });
    const up = await upgradablePackages(fixture);
    const pushed = await pushFixture(fixture.layoutDir, fixture.refName, registry.host, `multi:src-${arch}`);
    return { fixture, up, digest: pushed.digest };
  };
  amd = await build('amd64');
  arm = await build('arm64');
  // the index: amd64, arm64, a windows entry (preserved untouched) and one attestation per linux platform
  const a = await manifestSize('multi', amd.digest);
  const b = await manifestSize('multi', arm.digest);
  const att = (subject: string): Desc => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: amd.digest,
    size: a.size,
    platform: { os: 'unknown', architecture: 'unknown' },
    annotations: {
      'vnd.docker.reference.digest': subject,
      'vnd.docker.reference.type': 'attestation-manifest',
    },
  });
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: amd.digest,
        size: a.size,
        platform: { os: 'linux', architecture: 'amd64' },
      },
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: arm.digest,
        size: b.size,
        platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
      },
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: amd.digest,
        size: a.size,
        platform: { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1' },
      },
      att(amd.digest),
      att(arm.digest),
    ],
    annotations: { 'org.opencontainers.image.version': '1' },
  };
  await put(
    'multi/manifests/1',
    Buffer.from(JSON.stringify(index)),
    'application/vnd.oci.image.index.v1+json',
  );
  source = `${registry.host}/multi:1`;
}, 1_800_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
  if (mountedBinfmt) execFileSync('umount', [BINFMT]);
});

describe('multi-platform images', () => {
  it('no flags: every linux platform patched (update-all), per-arch tags and one index; windows kept byte for byte; attestations of patched platforms dropped', async () => {
    const r = await copa(args('patch', '-i', source, '--push', '--json'));
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { platforms: Array<{ platform: string; status: string }> };
    expect(result.platforms.map((p) => `${p.platform}=${p.status}`).sort()).toEqual([
      'linux/amd64=Patched',
      'linux/arm64=Patched',
      'windows/amd64=Preserved',
    ]);
    const before = rawManifest(source);
    const after = rawManifest(`${registry.host}/multi:1-patched`);
    expect(findPlatform(after.manifests, 'amd64')?.digest).not.toBe(amd.digest);
    expect(findPlatform(after.manifests, 'arm64')?.digest).not.toBe(arm.digest);
    expect(findPlatform(after.manifests, 'arm64')?.platform?.variant).toBe('v8');
    expect(after.manifests.find((d) => d.platform?.os === 'windows')).toEqual(
      before.manifests.find((d) => d.platform?.os === 'windows'),
    );
    expect(after.manifests.filter((d) => d.platform?.os === 'unknown')).toEqual([]);
    expect(after.annotations?.['sh.copa.patched']).toBeTruthy();
    expect(after.annotations?.['org.opencontainers.image.version']).toBe('1');
    expect(tagExists(`${registry.host}/multi:1-patched-amd64`)).toBe(true);
    expect(tagExists(`${registry.host}/multi:1-patched-arm64`)).toBe(true);

    // the arm64 image: fixed versions in its dpkg status, and an arm64 binary of it runs (under qemu)
    const dir = await mkdtemp(join(work, 'arm-'));
    execFileSync(
      'skopeo',
      [
        'copy',
        '--insecure-policy',
        '--src-tls-verify=false',
        `docker://${registry.host}/multi:1-patched-arm64`,
        `oci:${dir}/oci:x`,
      ],
      { stdio: 'ignore' },
    );
    await withUnpackedImage(join(dir, 'oci'), 'x', async (root) => {
      const versions = await installedVersions(root);
      for (const u of arm.up)
        expect(dpkgGe(versions.get(u.name) ?? '0', u.to), `${u.name} >= ${u.to}`).toBe(true);
      expect(execFileSync('file', ['-L', join(root, 'usr/bin/openssl')], { encoding: 'utf8' })).toMatch(
        /aarch64|ARM aarch64/,
      );
      const out = execFileSync('chroot', [root, 'openssl', 'version'], { encoding: 'utf8' });
      const ssl = arm.up.find((u) => u.name === 'openssl');
      if (ssl) expect(out).toContain(`OpenSSL ${ssl.to.split('-')[0]}`);
    });
  });

  it('--platform linux/amd64 with --oci-dir: arm64 and windows preserved with their attestation; one OCI layout holds the index', async () => {
    const out = join(work, 'layout');
    const r = await copa(
      args('patch', '-i', source, '--platform', 'linux/amd64', '--oci-dir', out, '-t', 'amd-only'),
    );
    expect(r.code, r.stderr).toBe(0);
    const idx = JSON.parse(
      execFileSync('skopeo', ['inspect', '--raw', `oci:${out}:amd-only`], { encoding: 'utf8' }),
    ) as { manifests: Desc[] };
    expect(findPlatform(idx.manifests, 'arm64')?.digest).toBe(arm.digest);
    expect(findPlatform(idx.manifests, 'amd64')?.digest).not.toBe(amd.digest);
    const atts = idx.manifests.filter((d) => d.platform?.os === 'unknown');
    expect(atts.map((d) => d.annotations?.['vnd.docker.reference.digest'])).toEqual([arm.digest]);
    // every platform's image is complete in the layout: skopeo copies all of them (it verifies digests)
    execFileSync(
      'skopeo',
      ['copy', '--all', '--insecure-policy', `oci:${out}:amd-only`, `dir:${join(work, 'copied')}`],
      { stdio: 'ignore' },
    );
    expect(tagExists(`${registry.host}/multi:amd-only`)).toBe(false);
  });

  it('--report DIR: reports matched by their architecture (not file names); platforms without a report preserved', async () => {
    const dir = join(work, 'reports');
    await mkdir(dir, { recursive: true });
    const u = arm.up.find((x) => x.name === 'libexpat1') ?? arm.up[0]!;
    // a misleading file name on purpose
    await writeFile(
      join(dir, 'amd64.json'),
      trivyReport({
        family: 'debian',
        version: '12',
        arch: 'arm64',
        image: source,
        vulns: [{ pkg: u.name, installed: u.from, fixed: u.to }],
      }),
    );
    const r = await copa(args('patch', '-i', source, '-r', dir, '--push', '-t', 'rep', '--json'));
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { platforms: Array<{ platform: string; status: string }> };
    expect(result.platforms.find((p) => p.platform === 'linux/amd64')?.status).toBe('Preserved');
    expect(result.platforms.find((p) => p.platform === 'linux/arm64')?.status).toBe('Patched');
    const idx = rawManifest(`${registry.host}/multi:rep`);
    expect(findPlatform(idx.manifests, 'amd64')?.digest).toBe(amd.digest);
    expect(findPlatform(idx.manifests, 'arm64')?.digest).not.toBe(arm.digest);
  });

  it('emulation switched off: the error names the platform and the command; nothing is written', async () => {
    await writeFile(ARM_HANDLER, '0');
    try {
      const r = await copa(args('patch', '-i', source, '--push', '-t', 'noemu'));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('emulation is not enabled for platform linux/arm64');
      expect(r.stderr).toContain('update-binfmts --enable qemu-aarch64');
      expect(tagExists(`${registry.host}/multi:noemu`)).toBe(false);
      expect(tagExists(`${registry.host}/multi:noemu-amd64`)).toBe(false);
    } finally {
      await writeFile(ARM_HANDLER, '1');
    }
    expect((await readFile(ARM_HANDLER, 'utf8')).split('\n')[0]).toBe('enabled');
  });
});
