import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildkitdMissing, startBuildkitd, type TestBuildkitd } from '../helpers/buildkitd.js';
import { copa } from '../helpers/cli.js';
import { ensureDebianFixture, pushFixture } from '../helpers/fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { upgradablePackages, type Upgradable } from '../helpers/upgradable.js';

/**
 * A two-platform index (amd64 + arm64) patched on a real buildkitd: arm64 runs under qemu-user through the
 * host's binfmt_misc (the worker's concern, as with Copa). Both platforms patched, one index pushed, and
 * the arm64 packages at the versions the arm64 mirror offers.
 */

const MISSING = buildkitdMissing();

const BINFMT = '/proc/sys/fs/binfmt_misc';
let mountedBinfmt = false;
let registry: TestRegistry;
let buildkitd: TestBuildkitd;
let work: string;
let source: string;
const up: Record<string, Upgradable[]> = {};

async function putIndex(repo: string, tag: string, manifests: Array<{ digest: string; arch: string }>) {
  const entries = [];
  for (const m of manifests) {
    const res = await fetch(`http://${registry.host}/v2/${repo}/manifests/${m.digest}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const size = Buffer.from(await res.arrayBuffer()).length;
    entries.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: m.digest,
      size,
      platform: { os: 'linux', architecture: m.arch, ...(m.arch === 'arm64' ? { variant: 'v8' } : {}) },
    });
  }
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: entries,
  });
  const put = await fetch(`http://${registry.host}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' },
    body,
  });
  expect(put.status).toBe(201);
}

beforeAll(async () => {
  if (MISSING !== undefined) return;
  if (!existsSync(`${BINFMT}/status`)) {
    execFileSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT]);
    mountedBinfmt = true;
  }
  if (!existsSync(`${BINFMT}/qemu-aarch64`)) execFileSync('update-binfmts', ['--enable', 'qemu-aarch64']);
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-bk-multi-'));
  registry = await startRegistry();
  // started after binfmt is in place: the worker lists the platforms it can emulate at start-up
  buildkitd = await startBuildkitd({ insecureRegistries: [registry.host], name: 'multi' });
  const pushed = [];
  for (const arch of ['amd64', 'arm64'] as const) {
    const fixture = await ensureDebianFixture({ name: 'bookworm-minbase', arch });
    up[arch] = await upgradablePackages(fixture);
    const p = await pushFixture(fixture.layoutDir, fixture.refName, registry.host, `multi:src-${arch}`);
    pushed.push({ digest: p.digest, arch });
  }
  await putIndex('multi', '1', pushed);
  source = `${registry.host}/multi:1`;
}, 1_800_000);

afterAll(async () => {
  await buildkitd?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
  if (mountedBinfmt) execFileSync('umount', [BINFMT]);
});

describe.skipIf(MISSING !== undefined)(`multi-platform on the BuildKit engine ${MISSING ?? ''}`, () => {
  it('update-all: amd64 and arm64 (qemu) patched on the daemon, one index, per-platform versions from its mirror', async () => {
    const r = await copa(['patch', '-i', source, '--push', '--json', '--addr', buildkitd.addr]);
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as {
      status: string;
      platforms: Array<{
        platform: string;
        status: string;
        plan?: { updates: Array<{ name: string; to: string }> };
      }>;
    };
    for (const arch of ['amd64', 'arm64'] as const) {
      const platform = `linux/${arch}`;
      const p = result.platforms.find(
        (x) => x.platform === platform || x.platform.startsWith(`${platform}/`),
      );
      expect(p?.status, platform).toBe('Patched');
      // the daemon's apt planned each platform's own candidates (and copa validated them installed)
      const planned = Object.fromEntries((p?.plan?.updates ?? []).map((u) => [u.name, u.to]));
      expect(planned, platform).toEqual(Object.fromEntries((up[arch] ?? []).map((u) => [u.name, u.to])));
    }
    const index = JSON.parse(
      execFileSync(
        'skopeo',
        ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/multi:1-patched`],
        {
          encoding: 'utf8',
        },
      ),
    ) as { manifests: Array<{ platform: { architecture: string } }> };
    expect(index.manifests.map((m) => m.platform.architecture).sort()).toEqual(['amd64', 'arm64']);
  });
});
