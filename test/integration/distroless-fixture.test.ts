import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DISTROLESS_LEFT_OUT,
  DISTROLESS_ROOTS,
  distrolessMeta,
  distrolessUpdates,
  ensureDistrolessFixture,
  parseAptPolicy,
  parseRelations,
  parseStanzas,
  resolveClosure,
  type DistrolessFixture,
} from '../helpers/distroless.js';
import { run } from '../helpers/exec.js';
import { pushFixture, type FixtureArch } from '../helpers/fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { installedVersions, runInChroot, withUnpackedImage } from '../helpers/upgradable.js';

describe('distroless helpers: control-file parsing and dependency closure', () => {
  it('parses deb822 stanzas with continuation lines, and Depends groups with versions and arch qualifiers', () => {
    const text =
      'Package: a\nVersion: 1:2.0-1\nDescription: short\n long\n .\n more\n\nPackage: b\nVersion: 3\n';
    expect(parseStanzas(text)).toEqual([
      { Package: 'a', Version: '1:2.0-1', Description: 'short\n long\n .\n more' },
      { Package: 'b', Version: '3' },
    ]);
    expect(
      parseRelations('libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, python3:any, foo [amd64]'),
    ).toEqual([['libc6'], ['debconf', 'debconf-2.0'], ['python3'], ['foo']]);
    expect(parseRelations(undefined)).toEqual([]);
  });

  it('takes the first real alternative, drops groups naming a left-out package, and names what it cannot satisfy', async () => {
    // a hand-written package table (the real archive is resolved by the fixture build below)
    const table: Record<string, { Depends?: string; 'Pre-Depends'?: string }> = {
      top: { Depends: 'virt | lib, conf | conf-2.0', 'Pre-Depends': 'awk' },
      lib: { Depends: 'top' },
    };
    const lookup = (name: string) => {
      const entry = table[name];
      return Promise.resolve(entry && { Package: name, Version: '1', Architecture: 'all', ...entry });
    };
    const closure = await resolveClosure(['top'], new Set(['awk', 'conf']), lookup);
    expect(closure.packages.map((p) => p.Package)).toEqual(['lib', 'top']);
    expect(closure.dropped).toEqual(['awk', 'conf | conf-2.0']);
    await expect(resolveClosure(['top', 'missing'], new Set(['awk', 'conf']), lookup)).rejects.toThrow(
      /no package in bookworm satisfies "missing"/,
    );
  });

  it('reads apt-cache policy output', () => {
    const out = [
      'libssl3:',
      '  Installed: 3.0.1-1',
      '  Candidate: 3.0.2-1',
      '  Version table:',
      '     3.0.2-1 500',
      'tzdata:',
      '  Installed: (none)',
      '  Candidate: 2099a-1',
      'gone:',
      '  Installed: (none)',
      '  Candidate: (none)',
      '',
    ].join('\n');
    expect(parseAptPolicy(out)).toEqual(
      new Map([
        ['libssl3', '3.0.2-1'],
        ['tzdata', '2099a-1'],
      ]),
    );
  });
});

async function dpkgNewer(a: string, b: string): Promise<boolean> {
  return run('dpkg', ['--compare-versions', a, 'gt', b]).then(
    () => true,
    () => false,
  );
}

/** every file and symlink below `root` (not directories), relative to it */
async function allFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => !e.isDirectory()).map((e) => relative(root, join(e.parentPath, e.name)));
}

const FORBIDDEN_NAMES =
  /^(sh|bash|dash|busybox|ls|cat|env|dpkg|dpkg-deb|dpkg-query|apt|apt-get|apt-cache|perl)$/;

function distrolessSuite(arch: FixtureArch): void {
  let fixture: DistrolessFixture;
  beforeAll(async () => {
    fixture = await ensureDistrolessFixture({ arch });
  });

  it('is built once a day from the bookworm suite: asking again reuses the cache entry', async () => {
    const again = await ensureDistrolessFixture({ arch });
    expect(again).toEqual(fixture);
    const meta = await distrolessMeta(fixture);
    expect(meta.suite).toBe('bookworm');
    expect(meta.arch).toBe(arch);
    const names = fixture.packages.map((p) => p.name);
    expect(names).toEqual([...names].sort());
    for (const root of DISTROLESS_ROOTS) expect(names).toContain(root);
    for (const tool of DISTROLESS_LEFT_OUT) expect(names).not.toContain(tool);
    expect(meta.leftOut).toContain('debconf | debconf-2.0');
    for (const p of fixture.packages) expect(p.version).toMatch(/^[0-9][A-Za-z0-9.+~:-]*$/);
  });

  it('has no shell, no dpkg, no apt: only status.d/<pkg> and <pkg>.md5sums, in Google’s format', async () => {
    await withUnpackedImage(fixture.layoutDir, fixture.refName, async (root) => {
      const paths = await allFiles(root);
      expect(paths).toContain('usr/bin/openssl');
      expect(paths).toContain('etc/ssl/certs/ca-certificates.crt');
      const offenders = paths.filter((p) => FORBIDDEN_NAMES.test(p.split('/').pop() ?? ''));
      expect(offenders).toEqual([]);
      expect(existsSync(join(root, 'var/lib/dpkg/status'))).toBe(false);
      expect(existsSync(join(root, 'var/lib/dpkg/info'))).toBe(false);
      expect(existsSync(join(root, 'etc/apt'))).toBe(false);
      expect(await readdir(join(root, 'var/lib/dpkg'))).toEqual(['status.d']);

      const statusD = join(root, 'var/lib/dpkg/status.d');
      const names = fixture.packages.map((p) => p.name);
      expect((await readdir(statusD)).sort()).toEqual(names.flatMap((n) => [n, `${n}.md5sums`]).sort());
      for (const p of fixture.packages) {
        const [stanza, ...rest] = parseStanzas(await readFile(join(statusD, p.name), 'utf8'));
        expect(rest).toEqual([]);
        expect(stanza?.Package).toBe(p.name);
        expect(stanza?.Version).toBe(p.version);
        expect(stanza?.Architecture).toMatch(new RegExp(`^(all|${arch})$`));
        expect(stanza?.Status).toBeUndefined(); // Google's entries are the bare control file
      }
      // the shared status reader (used to check patched images) sees the same packages
      expect(await installedVersions(root)).toEqual(
        new Map(fixture.packages.map((p) => [p.name, p.version])),
      );
      // every md5sums line names a file of the image with that checksum
      for (const n of names) {
        await run('md5sum', ['--check', '--quiet', `var/lib/dpkg/status.d/${n}.md5sums`], { cwd: root });
      }
    });
  });

  it('runs `openssl version` in a chroot (no shell needed), with libssl3’s version, and sees the CA bundle', async () => {
    await withUnpackedImage(fixture.layoutDir, fixture.refName, async (root) => {
      const libssl = fixture.packages.find((p) => p.name === 'libssl3')?.version ?? '';
      const upstream = /^(?:\d+:)?([^-]+)-/.exec(libssl)?.[1] ?? 'no libssl3';
      const { stdout } = await runInChroot(root, ['openssl', 'version'], { arch });
      expect(stdout).toContain(`OpenSSL ${upstream} `);
      expect(stdout).toContain(`(Library: OpenSSL ${upstream} `);
      const certs = await runInChroot(
        root,
        ['openssl', 'storeutl', '-noout', '-certs', '/etc/ssl/certs/ca-certificates.crt'],
        { arch },
      );
      expect(Number(/Total found: (\d+)/.exec(certs.stdout)?.[1])).toBeGreaterThan(100);
      const osRelease = await readFile(join(root, 'etc/os-release'), 'utf8');
      expect(osRelease).toMatch(/^ID=debian$/m);
      expect(osRelease).toMatch(/^VERSION_ID="12"$/m);
    });
  });

  describe('in a registry', () => {
    let registry: TestRegistry;
    beforeAll(async () => {
      registry = await startRegistry();
    });
    afterAll(async () => {
      await registry?.stop();
    });

    it(`pushes; skopeo sees one layer, linux/${arch}, Cmd openssl version`, async () => {
      const pushed = await pushFixture(
        fixture.layoutDir,
        fixture.refName,
        registry.host,
        'distroless/base:12',
      );
      const inspect = async (...flags: string[]) =>
        JSON.parse(
          (await run('skopeo', ['inspect', '--tls-verify=false', ...flags, `docker://${pushed.reference}`]))
            .stdout,
        ) as Record<string, unknown>;
      const info = await inspect();
      expect(info.Digest).toBe(pushed.digest);
      expect(info.Layers).toHaveLength(1);
      expect(info.Os).toBe('linux');
      expect(info.Architecture).toBe(arch);
      const config = (await inspect('--config')) as {
        config: { Cmd: string[]; Env: string[] };
        history: { created_by?: string; empty_layer?: boolean }[];
      };
      expect(config.config.Cmd).toEqual(['openssl', 'version']);
      expect(config.config.Env).toContain('SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt');
      expect(config.history.filter((h) => !h.empty_layer)).toHaveLength(1);
    });
  });
}

describe('distroless fixture, amd64', () => {
  distrolessSuite('amd64');

  it('lags bookworm-security: apt-cache policy in the bookworm-minbase fixture finds newer versions', async () => {
    const fixture = await ensureDistrolessFixture();
    const updates = await distrolessUpdates(fixture);
    expect(updates.length, 'no package of the fixture is outdated today').toBeGreaterThan(0);
    for (const u of updates) {
      expect(u.from).toBe(fixture.packages.find((p) => p.name === u.name)?.version);
      expect(await dpkgNewer(u.to, u.from), `${u.name} ${u.from} -> ${u.to}`).toBe(true);
    }
    expect(await distrolessUpdates(fixture)).toEqual(updates); // the day's cache
  });
});

// arm64 is cheap here (nothing is emulated during the build); `openssl version` runs through qemu-user
describe('distroless fixture, arm64', () => distrolessSuite('arm64'));
