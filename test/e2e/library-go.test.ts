import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildkitdMissing, startBuildkitd, type TestBuildkitd } from '../helpers/buildkitd.js';
import { copa } from '../helpers/cli.js';
import { pushFixture } from '../helpers/fixtures.js';
import {
  ensureGoFixtures,
  GO_BINARY,
  GO_DEP,
  GO_DEP_FIXED,
  GO_DEP_OLD,
  GO_LDFLAGS,
  GO_MODULE,
  GO_MODULE_VERSION,
  GO_OWNER,
  goGrypeReport,
  goTrivyReport,
  hostGo,
  serveHttps,
  type GoFixtures,
  type GoVuln,
} from '../helpers/go-fixtures.js';
import { layerEntries, rawManifest } from '../helpers/inspect.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { withUnpackedImage } from '../helpers/upgradable.js';

/**
 * Go library patching through the CLI: a scratch-like image holding a binary `go install`ed from a released
 * module version is rebuilt with the fixed dependency in the golang tooling image (built here from the
 * host's Go), keeping its main module path and version, build settings, mode and owner; a go.mod-only
 * image gets the go.mod fallback.
 */

let registry: TestRegistry;
let work: string;
let fixtures: GoFixtures;
let binImage: string;
let modImage: string;
/** build info of the fixture's binary */
let before: ReturnType<typeof buildInfo>;
const goproxy = hostGo('GOPROXY');
const env = () => ({
  ...process.env,
  COPA_EXPERIMENTAL: '1',
  COPA_TOOLING_IMAGE_MAP: `docker.io/library/=${registry.host}/library/`,
});
const VULN: GoVuln = {
  pkg: GO_DEP,
  installed: GO_DEP_OLD,
  fixed: GO_DEP_FIXED,
  path: GO_BINARY,
  type: 'gobinary',
};

function args(...a: string[]): string[] {
  return [
    ...a,
    '--pkg-types',
    'os,library',
    ...(goproxy ? ['--goproxy', goproxy] : []),
    '-w',
    work,
    '--cache-dir',
    join(work, 'cache'),
  ];
}

async function writeReport(name: string, text: string): Promise<string> {
  const f = join(work, name);
  await writeFile(f, text);
  return f;
}

/** `go version -m` (host) of a file: main module, deps and the settings we reproduce. */
function buildInfo(file: string): { mod: string; deps: Map<string, string>; settings: Map<string, string> } {
  const out = execFileSync('go', ['version', '-m', file], { encoding: 'utf8' });
  const deps = new Map<string, string>();
  const settings = new Map<string, string>();
  let mod = '';
  for (const line of out.split('\n')) {
    const [, kind, a = '', b = ''] = line.split('\t');
    if (kind === 'mod') mod = `${a}@${b}`;
    if (kind === 'dep') deps.set(a, b);
    if (kind === 'build') {
      const eq = a.indexOf('=');
      const k = a.slice(0, eq);
      if (/^(-ldflags|-tags|-trimpath|-buildmode|CGO_ENABLED|GOOS|GOARCH|GOAMD64)$/.test(k))
        settings.set(k, a.slice(eq + 1));
    }
  }
  return { mod, deps, settings };
}

/** Entries of the patch layer. */
function patchLayer(layout: string, ref: string): string[] {
  const m = rawManifest(`oci:${layout}:${ref}`);
  return layerEntries(layout, m.layers[m.layers.length - 1]!.digest);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-go-'));
  registry = await startRegistry();
  fixtures = await ensureGoFixtures();
  await pushFixture(fixtures.tooling, fixtures.refName, registry.host, 'library/golang:1');
  binImage = (await pushFixture(fixtures.binary, fixtures.refName, registry.host, 'go/hey:1')).reference;
  before = await withUnpackedImage(fixtures.binary, fixtures.refName, (root) =>
    Promise.resolve(buildInfo(join(root, GO_BINARY))),
  );
  modImage = (await pushFixture(fixtures.gomod, fixtures.refName, registry.host, 'go/app:1')).reference;
}, 1_800_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('Go libraries', () => {
  async function checkPatched(layout: string, ref: string): Promise<void> {
    expect(patchLayer(layout, ref)).toEqual(['usr/', 'usr/local/', 'usr/local/bin/', GO_BINARY]);
    await withUnpackedImage(layout, ref, async (root) => {
      const file = join(root, GO_BINARY);
      const after = buildInfo(file);
      expect(after.mod).toBe(`${GO_MODULE}@${GO_MODULE_VERSION}`);
      expect(after.deps.get(GO_DEP)).toBe(`v${GO_DEP_FIXED}`);
      expect(after.settings).toEqual(before.settings);
      const st = await stat(file);
      expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }).toEqual(GO_OWNER);
      // it still runs (hey prints its usage and exits 1 without a URL)
      const ran = spawnSync(file, [], { encoding: 'utf8' });
      expect(ran.stderr).toContain('Usage: hey');
    });
  }

  it('the fixture binary embeds the old dependency, built with ldflags/tags/CGO_ENABLED=0', () => {
    expect(before.mod).toBe(`${GO_MODULE}@${GO_MODULE_VERSION}`);
    expect(before.deps.get(GO_DEP)).toBe(GO_DEP_OLD);
    expect(before.settings.get('-ldflags')).toBe(`"${GO_LDFLAGS}"`);
    expect(before.settings.get('-tags')).toBe('netgo');
    expect(before.settings.get('CGO_ENABLED')).toBe('0');
  });

  it('Trivy report: the binary is rebuilt with the fix, same module version, settings, mode and owner', async () => {
    const report = await writeReport('trivy.json', goTrivyReport(binImage, [VULN]));
    const out = join(work, 'out-trivy');
    const vex = join(work, 'vex.json');
    const r = await copa(
      args('patch', '-i', binImage, '-r', report, '--oci-dir', out, '-t', 'p1', '-o', vex),
      env(),
    );
    expect(r.code, r.stderr).toBe(0);
    await checkPatched(out, 'p1');
    const doc = JSON.parse(await readFile(vex, 'utf8')) as {
      statements: Array<{ vulnerability: { name: string } }>;
    };
    expect(doc.statements.map((s) => s.vulnerability.name)).toEqual(['CVE-2099-3000']);
  });

  it.skipIf(buildkitdMissing() !== undefined)(
    `on the BuildKit engine (--addr): the golang tooling image rebuilds it in the daemon, the same result ${buildkitdMissing() ?? ''}`,
    async () => {
      const buildkitd: TestBuildkitd = await startBuildkitd({
        insecureRegistries: [registry.host],
        name: 'go',
      });
      try {
        const report = await writeReport('trivy-bk.json', goTrivyReport(binImage, [VULN]));
        const out = join(work, 'out-bk');
        const r = await copa(
          args('patch', '-i', binImage, '-r', report, '--oci-dir', out, '-t', 'bk', '--addr', buildkitd.addr),
          env(),
        );
        expect(r.stderr).not.toMatch(/^Error/m);
        expect(r.code).toBe(0);
        await checkPatched(out, 'bk');
      } finally {
        await buildkitd.stop();
      }
    },
  );

  it('Grype report of the same finding (-s grype)', async () => {
    const report = await writeReport('grype.json', goGrypeReport([VULN]));
    const out = join(work, 'out-grype');
    const r = await copa(
      args('patch', '-i', binImage, '-r', report, '-s', 'grype', '--oci-dir', out, '-t', 'p2'),
      env(),
    );
    expect(r.code, r.stderr).toBe(0);
    await checkPatched(out, 'p2');
  });

  it('--dry-run --json plans the rebuild without building', async () => {
    const report = await writeReport('trivy-dry.json', goTrivyReport(binImage, [VULN]));
    const out = join(work, 'out-dry');
    const r = await copa(
      args('patch', '-i', binImage, '-r', report, '--dry-run', '--json', '--oci-dir', out),
      env(),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(r.stdout))).toContain(
      JSON.stringify({
        type: 'gobinary',
        name: GO_DEP,
        path: GO_BINARY,
        from: GO_DEP_OLD,
        to: `v${GO_DEP_FIXED}`,
      }),
    );
    expect(() => execFileSync('ls', [out], { stdio: 'ignore' })).toThrow();
  });

  it('a fixed version the proxy does not have: one-line error naming the module, exit 1', async () => {
    const report = await writeReport(
      'trivy-bad.json',
      goTrivyReport(binImage, [{ ...VULN, fixed: '0.3.999' }]),
    );
    const r = await copa(
      args('patch', '-i', binImage, '-r', report, '--oci-dir', join(work, 'out-bad'), '-t', 'p4'),
      env(),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/golang\.org\/x\/text.*v0\.3\.999/);
  });

  it('stdlib with --toolchain-patch-level: rebuilt with the next Go patch release (GOTOOLCHAIN download) and the dep fix', async (t) => {
    const host = /^go(\d+)\.(\d+)\.(\d+)$/.exec(hostGo('GOVERSION'));
    const next = host ? `${host[1]}.${host[2]}.${Number(host[3]) + 1}` : '';
    const toolchains = execFileSync('go', ['list', '-m', '-versions', 'golang.org/toolchain'], {
      encoding: 'utf8',
      env: { ...process.env, GOFLAGS: '' },
    });
    if (!next || !toolchains.includes(`-go${next}.linux-amd64`)) t.skip();
    const stdlib: GoVuln = {
      ...VULN,
      pkg: 'stdlib',
      installed: `v${next.replace(/\d+$/, '0')}`,
      fixed: next,
    };
    const report = await writeReport('trivy-stdlib.json', goTrivyReport(binImage, [VULN, stdlib]));
    const out = join(work, 'out-stdlib');
    const r = await copa(
      args('patch', '-i', binImage, '-r', report, '--toolchain-patch-level', '--oci-dir', out, '-t', 'p5'),
      env(),
    );
    expect(r.code, r.stderr).toBe(0);
    await withUnpackedImage(out, 'p5', (root) => {
      const file = join(root, GO_BINARY);
      expect(execFileSync('go', ['version', file], { encoding: 'utf8' })).toContain(`go${next}`);
      expect(buildInfo(file).deps.get(GO_DEP)).toBe(`v${GO_DEP_FIXED}`);
      expect(buildInfo(file).mod).toBe(`${GO_MODULE}@${GO_MODULE_VERSION}`);
      return Promise.resolve();
    });
  });

  it('untagged build (pseudo-version): source from --go-vcs-url on a plain HTTPS git host (dumb HTTP, own CA)', async () => {
    const vcsImage = (await pushFixture(fixtures.vcs, fixtures.refName, registry.host, 'go/hey-vcs:1'))
      .reference;
    const was = await withUnpackedImage(fixtures.vcs, fixtures.refName, (root) =>
      Promise.resolve(buildInfo(join(root, GO_BINARY))),
    );
    expect(was.mod).toMatch(
      new RegExp(`^${GO_MODULE}@v0\\.0\\.0-\\d{14}-${fixtures.vcsCommit.slice(0, 12)}$`),
    );
    const server = await serveHttps(dirname(fixtures.vcsRepo), work);
    try {
      const report = await writeReport('trivy-vcs.json', goTrivyReport(vcsImage, [VULN]));
      const out = join(work, 'out-vcs');
      const vcsUrl = `${server.url}/${basename(fixtures.vcsRepo)}@${fixtures.vcsCommit}`;
      const r = await copa(
        args(
          'patch',
          '-i',
          vcsImage,
          '-r',
          report,
          '--go-vcs-url',
          vcsUrl,
          '--ca-certs',
          server.ca,
          '--oci-dir',
          out,
          '-t',
          'p6',
        ),
        env(),
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`from ${vcsUrl}`);
      await withUnpackedImage(out, 'p6', (root) => {
        const after = buildInfo(join(root, GO_BINARY));
        expect(after.mod.startsWith(`${GO_MODULE}@v0.0.0-`)).toBe(true);
        expect(after.deps.get(GO_DEP)).toBe(`v${GO_DEP_FIXED}`);
        expect(after.settings).toEqual(was.settings);
        return Promise.resolve();
      });
    } finally {
      await server.stop();
    }
  });

  it('go.mod-only image: go.mod/go.sum updated by the fallback, nothing else in the layer', async () => {
    const vuln: GoVuln = { ...VULN, path: 'app/go.mod', type: 'gomod' };
    const report = await writeReport('trivy-mod.json', goTrivyReport(modImage, [vuln]));
    const out = join(work, 'out-mod');
    const r = await copa(args('patch', '-i', modImage, '-r', report, '--oci-dir', out, '-t', 'p3'), env());
    expect(r.code, r.stderr).toBe(0);
    expect(patchLayer(out, 'p3').sort()).toEqual(['app/', 'app/go.mod', 'app/go.sum']);
    await withUnpackedImage(out, 'p3', async (root) => {
      const mod = await readFile(join(root, 'app/go.mod'), 'utf8');
      expect(mod).toContain(`${GO_DEP} v${GO_DEP_FIXED}`);
      const sum = await readFile(join(root, 'app/go.sum'), 'utf8');
      expect(sum).toContain(`${GO_DEP} v${GO_DEP_FIXED} h1:`);
    });
  });
});
