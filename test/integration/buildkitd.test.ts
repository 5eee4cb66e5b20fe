import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildkitdPaths,
  launchBuildkitd,
  mountsBelow,
  startBuildkitd,
  type TestBuildkitd,
} from '../helpers/buildkitd.js';
import { run } from '../helpers/exec.js';
import { ensureDebianFixture, isAlive, pushFixture } from '../helpers/fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

/**
 * The real BuildKit daemon the BuildKit engine is tested against (test/helpers/buildkitd.ts): buildkitd v0.28.1
 * built from Go modules by .ci/buildkit.sh, runc worker, overlayfs, host network, a private plain-HTTP registry.
 * Skipped, saying why, only when the binaries are missing and COPA_REQUIRE_TOOLS is not 1 (.ci/run sets it).
 */

const PATHS = buildkitdPaths();
const MISSING = typeof PATHS === 'string' ? PATHS : undefined;
if (MISSING !== undefined && process.env.COPA_REQUIRE_TOOLS === '1')
  throw new Error(`buildkitd is required (COPA_REQUIRE_TOOLS=1) but ${MISSING}`);

interface Descriptor {
  mediaType: string;
  digest: string;
}
interface Manifest {
  layers: Descriptor[];
}
const ACCEPT =
  'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';

/** Every mount point under `dir` in any mount namespace on the machine (a leaked namespace would show here). */
async function mountsAnywhere(dir: string): Promise<string[]> {
  const found = new Set<string>();
  for (const pid of (await readdir('/proc')).filter((e) => /^\d+$/.test(e))) {
    const info = await readFile(`/proc/${pid}/mountinfo`, 'utf8').catch(() => '');
    for (const line of info.split('\n')) {
      const target = line.split(' ')[4];
      if (target !== undefined && (target === dir || target.startsWith(`${dir}/`))) found.add(target);
    }
  }
  return [...found];
}

/** Processes whose command line names `dir` (buildkitd, runc and the build steps it starts). */
async function processesNaming(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((e) => /^\d+$/.test(e))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(dir)) found.push(`${pid}: ${cmdline.replaceAll('\0', ' ').trim()}`);
  }
  return found;
}

describe.skipIf(MISSING !== undefined)(
  `buildkitd (real daemon from Go modules)${MISSING === undefined ? '' : ` — SKIPPED: ${MISSING}`}`,
  () => {
    let tmp: string;
    let registry: TestRegistry | undefined;
    let bk: TestBuildkitd | undefined;
    let image: string;

    beforeAll(async () => {
      tmp = await mkdtemp(join(tmpdir(), 'copa-test-bk-'));
      registry = await startRegistry();
      const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
      image = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12')).reference;
      bk = await startBuildkitd({ insecureRegistries: [registry.host], name: 'itest' });
    }, 600_000);

    afterAll(async () => {
      await bk?.stop();
      await registry?.stop();
      await rm(tmp, { recursive: true, force: true });
    });

    it('answers `buildctl debug workers` with one OCI worker for linux/amd64 on overlayfs and the host network', async () => {
      const d = bk!;
      expect(d.addr).toBe(`unix://${d.socket}`);
      expect(isAlive(d.pid)).toBe(true);
      expect(await d.buildctl(['debug', 'workers'])).toMatch(/linux\/amd64/);
      const workers = JSON.parse(await d.buildctl(['debug', 'workers', '--format', '{{json .}}'])) as Array<{
        labels: Record<string, string>;
        platforms: Array<{ os: string; architecture: string; variant?: string }>;
      }>;
      expect(workers).toHaveLength(1);
      const [w] = workers;
      expect(w?.platforms).toContainEqual({ os: 'linux', architecture: 'amd64' });
      expect(w?.labels).toMatchObject({
        'org.mobyproject.buildkit.worker.executor': 'oci',
        'org.mobyproject.buildkit.worker.snapshotter': 'overlayfs',
        'org.mobyproject.buildkit.worker.network': 'host',
      });
    });

    it('pulls the Debian fixture from the plain-HTTP registry, runs a step with runc and exports an OCI archive', async () => {
      const d = bk!;
      const port = registry!.host.split(':')[1]!;
      // the step reaches the registry on the host's loopback: only possible with the host network
      const probe = `exec 3<>/dev/tcp/127.0.0.1/${port} && printf "GET /v2/ HTTP/1.0\\r\\n\\r\\n" >&3 && head -n1 <&3`;
      const ctx = join(tmp, 'ctx');
      await mkdir(ctx);
      await writeFile(join(ctx, 'Dockerfile'), `FROM ${image}\nRUN bash -c '${probe}' > /probe.txt\n`);
      const archive = join(tmp, 'out.tar');
      const started = Date.now();
      await d.buildctl([
        'build',
        '--frontend',
        'dockerfile.v0',
        '--local',
        `context=${ctx}`,
        '--local',
        `dockerfile=${ctx}`,
        '--output',
        `type=oci,dest=${archive}`,
      ]);
      console.log(`buildctl build (pull + run + export): ${((Date.now() - started) / 1000).toFixed(1)} s`);

      const out = join(tmp, 'out');
      await mkdir(out);
      await run('tar', ['-xf', archive, '-C', out]);
      const blob = (digest: string) => join(out, 'blobs', ...digest.split(':'));
      const json = async <T>(digest: string) => JSON.parse(await readFile(blob(digest), 'utf8')) as T;
      const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as {
        manifests: Descriptor[];
      };
      expect(index.manifests).toHaveLength(1);
      const built = await json<Manifest>(index.manifests[0]!.digest);

      const res = await fetch(`http://${registry!.host}/v2/debian/manifests/12`, {
        headers: { Accept: ACCEPT },
      });
      expect(res.status).toBe(200);
      const base = (await res.json()) as Manifest;
      // the base layers unchanged, plus the one layer of the RUN step
      expect(built.layers.map((l) => l.digest).slice(0, -1)).toEqual(base.layers.map((l) => l.digest));
      expect(built.layers).toHaveLength(base.layers.length + 1);
      const last = built.layers.at(-1)!;
      const { stdout } = await run('tar', ['-xzOf', blob(last.digest), 'probe.txt']);
      expect(stdout).toMatch(/^HTTP\/1\.[01] 200 OK/);
    });

    it('prune() empties its cache; stop() leaves no process, no mount (in any namespace) and no temp dir', async () => {
      const d = bk!;
      await d.prune();
      expect((await d.buildctl(['du'])).trim().split('\n').slice(-1)[0]).toMatch(/Total:\s+0B?/);
      await d.stop();
      bk = undefined;
      expect(isAlive(d.pid)).toBe(false);
      expect(await processesNaming(d.dir)).toEqual([]);
      expect(await mountsBelow(d.dir)).toEqual([]);
      expect(await mountsAnywhere(d.dir)).toEqual([]);
      expect(existsSync(d.dir)).toBe(false);
      await d.stop(); // idempotent
    });

    it('a daemon that exits at once fails the start with its log tail, and leaves nothing', async () => {
      const dir = join(tmp, 'broken');
      const fake = join(tmp, 'fake-buildkitd');
      await writeFile(fake, '#!/bin/sh\necho "fake buildkitd: refusing to start" >&2\nexit 3\n', {
        mode: 0o755,
      });
      const paths = typeof PATHS === 'string' ? { buildkitd: '', buildctl: '' } : PATHS;
      await expect(
        launchBuildkitd({ paths: { ...paths, buildkitd: fake }, dir, insecureRegistries: [], log: () => {} }),
      ).rejects.toThrow(
        /buildkitd exited[\s\S]*last lines of .*buildkitd\.log:\nfake buildkitd: refusing to start/,
      );
      expect(await mountsBelow(dir)).toEqual([]);
    });
  },
);
