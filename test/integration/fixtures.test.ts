import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/exec.js';
import {
  cachedDir,
  ensureDebianFixture,
  fixtureMeta,
  pushFixture,
  type DebianFixture,
  type FixtureArch,
} from '../helpers/fixtures.js';
import { debianMirrors, parseDeb822Sources, parseOneLineSources, pickMirrors } from '../helpers/mirror.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import {
  installedVersions,
  mountsUnder,
  parseAptSimulation,
  upgradablePackages,
  withUnpackedImage,
} from '../helpers/upgradable.js';

// Sample texts use reserved example host names; the real mirror only ever comes from the host or env.
const DEB822 = `# a comment
Types: deb deb-src
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security/
Suites:
 bookworm-security
Components: main

Types: deb
Enabled: no
URIs: http://disabled.example/debian
Suites: bookworm
`;

const ONE_LINE = `# deb http://commented.example/debian bookworm main
deb-src http://src.example/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.example/debian bookworm main
deb http://mirror.example/debian-security bookworm-security main # trailing
`;

describe('Debian mirrors from apt sources', () => {
  it('reads deb822 stanzas, continuation lines and Enabled: no', () => {
    expect(parseDeb822Sources(DEB822)).toEqual([
      { uris: ['http://mirror.example/debian'], suites: ['bookworm', 'bookworm-updates'] },
      { uris: ['http://mirror.example/debian-security/'], suites: ['bookworm-security'] },
    ]);
    expect(pickMirrors(parseDeb822Sources(DEB822))).toEqual({
      main: 'http://mirror.example/debian',
      security: 'http://mirror.example/debian-security',
    });
  });

  it('reads one-line sources.list with [options], skipping deb-src and comments', () => {
    const sources = parseOneLineSources(ONE_LINE);
    expect(sources).toEqual([
      { uris: ['http://mirror.example/debian'], suites: ['bookworm'] },
      { uris: ['http://mirror.example/debian-security'], suites: ['bookworm-security'] },
    ]);
  });

  it('falls back to the /debian and /debian-security archives of a host on another release', () => {
    const trixie = parseOneLineSources(
      'deb http://mirror.example/debian trixie main\ndeb http://mirror.example/debian-security trixie-security main\n',
    );
    expect(pickMirrors(trixie)).toEqual({
      main: 'http://mirror.example/debian',
      security: 'http://mirror.example/debian-security',
    });
  });

  it('takes the env vars first, then a one-line sources.list, and names the env vars when nothing is found', async () => {
    const etc = await mkdtemp(join(tmpdir(), 'copa-test-apt-'));
    try {
      const env = {
        COPA_TEST_DEBIAN_MIRROR: 'http://a.example/debian',
        COPA_TEST_DEBIAN_SECURITY_MIRROR: 'http://b.example/s/',
      };
      expect(debianMirrors(env, etc)).toEqual({
        main: 'http://a.example/debian',
        security: 'http://b.example/s',
      });
      expect(() => debianMirrors({}, etc)).toThrow(
        /COPA_TEST_DEBIAN_MIRROR and COPA_TEST_DEBIAN_SECURITY_MIRROR/,
      );
      await writeFile(join(etc, 'sources.list'), ONE_LINE);
      expect(debianMirrors({}, etc)).toEqual({
        main: 'http://mirror.example/debian',
        security: 'http://mirror.example/debian-security',
      });
      expect(debianMirrors({ COPA_TEST_DEBIAN_MIRROR: 'http://a.example/debian' }, etc).main).toBe(
        'http://a.example/debian',
      );
    } finally {
      await rm(etc, { recursive: true, force: true });
    }
  });

  it('finds this host’s main and security archives', () => {
    const m = debianMirrors();
    expect(m.main).toMatch(/^https?:\/\//);
    expect(m.security).toMatch(/^https?:\/\//);
    expect(m.security).not.toBe(m.main);
  });
});

describe('cachedDir', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'copa-test-cache-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('builds once when two callers ask at the same time, and shows only the finished dir', async () => {
    let builds = 0;
    const build = async (tmp: string) => {
      builds++;
      await new Promise((r) => setTimeout(r, 300));
      await writeFile(join(tmp, 'done'), 'yes');
    };
    const [a, b] = await Promise.all([
      cachedDir(root, 'k1', build, { pollMs: 20 }),
      cachedDir(root, 'k1', build, { pollMs: 20 }),
    ]);
    expect(a).toBe(join(root, 'k1'));
    expect(b).toBe(a);
    expect(builds).toBe(1);
    expect(await readFile(join(a, 'done'), 'utf8')).toBe('yes');
    expect(await readdir(root)).toEqual(['k1']);
  });

  it('leaves nothing behind when the build fails, and builds again on the next call', async () => {
    const failing = cachedDir(root, 'k2', async (tmp) => {
      await writeFile(join(tmp, 'half'), 'x');
      throw new Error('mirror down');
    });
    await expect(failing).rejects.toThrow('mirror down');
    expect(await readdir(root)).toEqual(['k1']);
    const dir = await cachedDir(root, 'k2', (tmp) => writeFile(join(tmp, 'ok'), ''));
    expect(existsSync(join(dir, 'ok'))).toBe(true);
  });

  it('takes over the lock and the temp dir of a builder that died', async () => {
    const dead = spawnSync('true').pid;
    expect(dead).toBeGreaterThan(0);
    await writeFile(join(root, 'k3.lock'), JSON.stringify({ pid: dead }));
    await mkdir(join(root, `.tmp-k3-${dead}-deadbeef`));
    const dir = await cachedDir(root, 'k3', (tmp) => writeFile(join(tmp, 'ok'), ''), { pollMs: 20 });
    expect(existsSync(join(dir, 'ok'))).toBe(true);
    expect((await readdir(root)).sort()).toEqual(['k1', 'k2', 'k3']);
  });
});

async function skopeoInspect(ref: string, ...flags: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', ...flags, `docker://${ref}`]);
  return JSON.parse(stdout) as Record<string, unknown>;
}

async function dpkgNewer(a: string, b: string): Promise<boolean> {
  return run('dpkg', ['--compare-versions', a, 'gt', b]).then(
    () => true,
    () => false,
  );
}

function fixtureSuite(arch: FixtureArch): void {
  let fixture: DebianFixture;
  let registry: TestRegistry;
  beforeAll(async () => {
    fixture = await ensureDebianFixture({ name: 'bookworm-minbase', arch });
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('is built once a day: asking again reuses the cache entry', async () => {
    const before = await fixtureMeta(fixture);
    const again = await ensureDebianFixture({ name: 'bookworm-minbase', arch });
    expect(again).toEqual(fixture);
    expect(await fixtureMeta(again)).toEqual(before);
    expect(before.packages).toEqual(['ca-certificates', 'gpgv', 'libexpat1', 'openssl']);
    expect((await stat(fixture.rootfsTar)).size).toBeGreaterThan(10_000_000);
  });

  it(`pushes as OCI: skopeo sees two layers, linux/${arch}, Cmd bash and one history entry per layer`, async () => {
    const pushed = await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12');
    const info = await skopeoInspect(pushed.reference);
    expect(info.Digest).toBe(pushed.digest);
    expect(info.Os).toBe('linux');
    expect(info.Architecture).toBe(arch);
    expect(info.Layers).toHaveLength(2);
    // umoci omits the optional `mediaType` field of OCI manifests; the registry's Content-Type names it
    const res = await fetch(`http://${registry.host}/v2/debian/manifests/12`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    await res.arrayBuffer();
    expect(res.headers.get('content-type')).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(res.headers.get('docker-content-digest')).toBe(pushed.digest);
    const config = (await skopeoInspect(pushed.reference, '--config')) as {
      config: { Cmd: string[]; Env: string[] };
      history: { created_by?: string; empty_layer?: boolean }[];
    };
    expect(config.config.Cmd).toEqual(['bash']);
    expect(config.config.Env.some((e) => e.startsWith('PATH=/usr/local/sbin:'))).toBe(true);
    const layerHistory = config.history.filter((h) => !h.empty_layer);
    expect(layerHistory).toHaveLength(2);
    expect(layerHistory[0]?.created_by).toContain('mmdebstrap');
    expect(layerHistory[1]?.created_by).toContain('debian.sources');
  });

  it('pushes as Docker schema 2 as well', async () => {
    const pushed = await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian-v2s2:12', {
      format: 'v2s2',
    });
    const raw = (await skopeoInspect(pushed.reference, '--raw')) as { mediaType: string; layers: unknown[] };
    expect(raw.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(raw.layers).toHaveLength(2);
  });

  it('looks like debian:12 inside, and installedVersions agrees with dpkg-query', async () => {
    // a temp root left by a killed test process goes away with the next unpack
    const stale = join(tmpdir(), `copa-test-rootfs-${spawnSync('true').pid}-stale`);
    await mkdir(join(stale, 'rootfs/etc'), { recursive: true });
    await withUnpackedImage(fixture.layoutDir, fixture.refName, async (root) => {
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(join(root, 'etc/apt/sources.list'))).toBe(false);
      expect((await stat(join(root, 'etc/resolv.conf'))).size).toBe(0);
      expect((await stat(join(root, 'etc/hostname'))).size).toBe(0);
      expect(existsSync(join(root, 'usr/bin/gpgv'))).toBe(true);
      const sources = await readFile(join(root, 'etc/apt/sources.list.d/debian.sources'), 'utf8');
      expect(parseDeb822Sources(sources)).toEqual([
        { uris: [fixture.mirrors.main], suites: ['bookworm', 'bookworm-updates'] },
        { uris: [fixture.mirrors.security], suites: ['bookworm-security'] },
      ]);
      expect(sources.match(/^Signed-By: \/usr\/share\/keyrings\/debian-archive-keyring.gpg$/gm)).toHaveLength(
        2,
      );

      const ours = await installedVersions(root);
      const format = '${Package} ${Version} ${db:Status-Abbrev}\n';
      const { stdout } = await run('dpkg-query', [
        `--admindir=${join(root, 'var/lib/dpkg')}`,
        '-W',
        '-f',
        format,
      ]);
      const theirs = new Map(
        stdout
          .split('\n')
          .map((l) => l.trim().split(' '))
          .filter(([, , st]) => st === 'ii')
          .map(([name, version]) => [name ?? '', version ?? '']),
      );
      expect(ours).toEqual(theirs);
      for (const p of ['gpgv', 'openssl', 'libssl3', 'libexpat1', 'ca-certificates'])
        expect(ours.has(p)).toBe(true);
    });
  });

  it('has upgradable packages today, libssl3 or openssl among them, each newer by dpkg rules', async () => {
    const upgradable = await upgradablePackages(fixture);
    expect(upgradable.length).toBeGreaterThan(0);
    expect(upgradable.some((u) => u.name === 'libssl3' || u.name === 'openssl')).toBe(true);
    const installed = await withUnpackedImage(fixture.layoutDir, fixture.refName, installedVersions);
    for (const u of upgradable) {
      expect(u.from).toBe(installed.get(u.name));
      expect(await dpkgNewer(u.to, u.from), `${u.name} ${u.from} -> ${u.to}`).toBe(true);
    }
    expect(await upgradablePackages(fixture)).toEqual(upgradable); // served from the day's cache
  });
}

describe('bookworm-minbase fixture, amd64', () => fixtureSuite('amd64'));
// The arm64 fixture (≈3 min under qemu when cold) is exercised by the multi-platform work, not in every CI run yet.

/** pids of processes whose root directory is `dir` (chrooted into it) */
async function chrootedInto(dir: string): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e));
  const roots = await Promise.all(pids.map((p) => readlink(`/proc/${p}/root`).catch(() => '')));
  return pids.filter((_, i) => roots[i] === dir).map(Number);
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting until ${what}`);
}

describe('runInChroot', () => {
  it('leaves no process and no mount behind when the test process is killed with SIGKILL', async () => {
    const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
    await withUnpackedImage(fixture.layoutDir, fixture.refName, async (root) => {
      const helper = fileURLToPath(new URL('../helpers/upgradable.ts', import.meta.url));
      const script = `const { runInChroot } = await import(${JSON.stringify(helper)});
        await runInChroot(process.argv[1], ['sh', '-c', ': > /started; exec sleep 600']);`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, root], {
        stdio: 'ignore',
      });
      const exited = new Promise((r) => child.once('exit', r));
      await until('the chroot runs', () => existsSync(join(root, 'started')));
      expect(await chrootedInto(root)).not.toEqual([]);
      expect(await readFile(join(root, 'proc/self/stat'), 'utf8').catch(() => '')).toBe(''); // mounts are private
      child.kill('SIGKILL');
      await exited;
      await until('the chrooted processes are gone', async () => (await chrootedInto(root)).length === 0);
      expect(await mountsUnder(root)).toEqual([]);
    });
  });
});

describe('parseAptSimulation', () => {
  it('reads Inst lines, with or without an arch suffix and trailing brackets', () => {
    const out = [
      'Inst libssl3 [3.0.1-1] (3.0.2-1 Debian-Security:12/stable-security [amd64])',
      'Conf libssl3 (3.0.2-1 Debian-Security:12/stable-security [amd64])',
      'Inst perl-base [5.36.0-7+deb12u1] (5.36.0-7+deb12u2 Debian:12.9/stable [amd64]) []',
      'Inst libc6:amd64 [2.36-9] (2.36-9+deb12u1 Debian:12/stable [amd64])',
      'Inst newpkg (1.0 Debian:12/stable [amd64])',
    ].join('\n');
    expect(parseAptSimulation(out)).toEqual([
      { name: 'libc6', from: '2.36-9', to: '2.36-9+deb12u1' },
      { name: 'libssl3', from: '3.0.1-1', to: '3.0.2-1' },
      { name: 'perl-base', from: '5.36.0-7+deb12u1', to: '5.36.0-7+deb12u2' },
    ]);
  });
});
