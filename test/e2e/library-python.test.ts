import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSigned } from '../helpers/certs.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copa } from '../helpers/cli.js';
import { pushFixture } from '../helpers/fixtures.js';
import { layerEntries } from '../helpers/inspect.js';
import {
  CERTIFI_FIXED,
  CERTIFI_OLD,
  CERTIFI_PATH,
  ensurePythonFixtures,
  PY_FIXED,
  PY_OLD,
  PY_SYSTEM_PATH,
  PY_VENV_PATH,
  pythonGrypeReport,
  pythonTrivyReport,
  type PyVuln,
} from '../helpers/python-fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { buildkitdMissing, startBuildkitd, type TestBuildkitd } from '../helpers/buildkitd.js';
import { runInChroot, withUnpackedImage } from '../helpers/upgradable.js';

/**
 * Python library patching through the CLI on a real local registry: a Debian 12 image with a venv made by
 * pip (urllib3 1.26.4, certifi 2022.12.7), the same venv without pip (tooling image python:3.11-slim,
 * served by the local registry), Trivy and Grype reports. Versions are checked by the image's own Python.
 */

let registry: TestRegistry;
let work: string;
let app: string;
let nopip: string;
let system: string;
let env: NodeJS.ProcessEnv;
let n = 0;

const SITE = 'app/venv/lib/python3.11/site-packages';
const urllib3 = (fixed = PY_FIXED): PyVuln => ({
  pkg: 'urllib3',
  installed: PY_OLD,
  fixed,
  path: PY_VENV_PATH,
});
const certifi: PyVuln = { pkg: 'certifi', installed: CERTIFI_OLD, fixed: CERTIFI_FIXED, path: CERTIFI_PATH };

/** The index pip on this machine uses, passed on only when it is configured. */
function pipIndexArgs(): string[] {
  let url = process.env.PIP_INDEX_URL ?? '';
  if (!url) {
    try {
      url = execFileSync('pip3', ['config', 'get', 'global.index-url'], {
        encoding: 'utf8',
        stdio: 'pipe',
      }).trim();
    } catch {
      url = '';
    }
  }
  return url ? ['--pip-index-url', url] : [];
}

async function report(text: string): Promise<string> {
  const file = join(work, `report-${++n}.json`);
  await writeFile(file, text);
  return file;
}

/** copa patch with library types on; returns the result and the output layout (ref `p`). */
async function patch(image: string, reportFile: string, ...extra: string[]) {
  const out = join(work, `out-${++n}`);
  const args = ['patch', '-i', image, '-r', reportFile, '--oci-dir', out, '-t', 'p'];
  const r = await copa(
    [...args, ...pipIndexArgs(), '--cache-dir', join(work, 'cache'), '-w', work, ...extra],
    env,
  );
  return { ...r, out };
}

/** Entries of the patch layer (the last one) of an output layout. */
async function patchLayer(layout: string): Promise<string[]> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string }>;
  };
  const blob = (d: string) => join(layout, 'blobs/sha256', d.slice('sha256:'.length));
  const manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), 'utf8')) as {
    layers: Array<{ digest: string }>;
  };
  return layerEntries(layout, manifest.layers[manifest.layers.length - 1]!.digest);
}

/** What the image's own Python says, plus the stale files a careless swap would leave. */
async function inspectVenv(layout: string): Promise<{ versions: string; stale: string[] }> {
  return withUnpackedImage(layout, 'p', async (root) => {
    // urllib3's own __version__; certifi's module string is zero-padded (2023.07.22), so its metadata
    const code = "import urllib3, importlib.metadata as m; print(urllib3.__version__, m.version('certifi'))";
    const { stdout } = await runInChroot(root, ['/app/venv/bin/python', '-c', code]);
    const files = execFileSync('find', [join(root, SITE), '-name', '*.pyc'], { encoding: 'utf8' }).split(
      '\n',
    );
    const stale = files.filter((f) => {
      const m = /^(.*)\/__pycache__\/([^/.]+)\.[^/]+\.pyc$/.exec(f);
      return m !== null && !existsSync(`${m[1]}/${m[2]}.py`);
    });
    const old = execFileSync('ls', [join(root, SITE)], { encoding: 'utf8' }).split('\n');
    stale.push(
      ...old.filter((e) => e === `urllib3-${PY_OLD}.dist-info` || e === `certifi-${CERTIFI_OLD}.dist-info`),
    );
    return { versions: stdout.trim(), stale };
  });
}

/** Nothing but the two packages (and their removed metadata) in the layer: no cache, no tmp, no pip bytecode. */
function expectCleanLayer(entries: string[]): void {
  const allowed = new RegExp(
    `^(app/|app/venv/|app/venv/lib/|app/venv/lib/python3.11/|${SITE}/|${SITE}/(urllib3|certifi)(/.*|-[0-9.]+\\.dist-info/.*)?|${SITE}/\\.wh\\.(urllib3|certifi)-.*)$`,
  );
  expect(entries.filter((e) => !allowed.test(e))).toEqual([]);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-python-'));
  registry = await startRegistry();
  const fx = await ensurePythonFixtures();
  app = (await pushFixture(fx.app, fx.refName, registry.host, 'py/app:1')).reference;
  nopip = (await pushFixture(fx.nopip, fx.refName, registry.host, 'py/app:nopip')).reference;
  system = (await pushFixture(fx.system, fx.refName, registry.host, 'py/app:system')).reference;
  await pushFixture(fx.base.layoutDir, fx.refName, registry.host, 'library/python:3.11-slim');
  env = {
    ...process.env,
    COPA_EXPERIMENTAL: '1',
    COPA_TOOLING_IMAGE_MAP: `docker.io/library/=${registry.host}/library/`,
  };
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('python-pkg libraries', () => {
  it('venv with pip, Trivy report: both packages at the fixed versions, the layer holds only them', async () => {
    const r = await patch(
      app,
      await report(pythonTrivyReport(app, [urllib3(), certifi])),
      '--pkg-types',
      'os,library',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`pip install in /app/venv: certifi==${CERTIFI_FIXED} urllib3==${PY_FIXED}`);
    expectCleanLayer(await patchLayer(r.out));
    expect(await inspectVenv(r.out)).toEqual({ versions: `${PY_FIXED} ${CERTIFI_FIXED}`, stale: [] });
  });

  it('the same findings from a Grype report (-s grype)', async () => {
    const r = await patch(
      app,
      await report(pythonGrypeReport(app, [urllib3(), certifi])),
      '-s',
      'grype',
      '--pkg-types',
      'library',
    );
    expect(r.code, r.stderr).toBe(0);
    expect((await inspectVenv(r.out)).versions).toBe(`${PY_FIXED} ${CERTIFI_FIXED}`);
  });

  it('--dry-run --json lists the update and writes nothing; --pkg-types os leaves library findings alone', async () => {
    const file = await report(pythonTrivyReport(app, [urllib3()]));
    const dry = await patch(app, file, '--pkg-types', 'os,library', '--dry-run', '--json');
    expect(dry.code, dry.stderr).toBe(0);
    const doc = JSON.parse(dry.stdout) as { plan: { libraries: unknown[] }; output: { kind: string } };
    expect(doc.plan.libraries).toEqual([
      { type: 'python-pkg', name: 'urllib3', path: '/app/venv', from: PY_OLD, to: PY_FIXED },
    ]);
    expect(doc.output.kind).toBe('none');
    expect(existsSync(dry.out)).toBe(false);

    const os = await patch(app, file, '--pkg-types', 'os');
    expect(os.code, os.stderr).toBe(0);
    expect(os.stderr).toContain('Leaving 1 library finding(s) alone');
    expect(os.stderr).not.toContain('pip install');
  });

  it('no pip in the venv: python:3.11-slim tooling image installs the release, files swapped in place', async () => {
    const r = await patch(
      nopip,
      await report(pythonTrivyReport(nopip, [urllib3(), certifi])),
      '--pkg-types',
      'library',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Using tooling image ${registry.host}/library/python:3.11-slim`);
    expectCleanLayer(await patchLayer(r.out));
    expect(await inspectVenv(r.out)).toEqual({ versions: `${PY_FIXED} ${CERTIFI_FIXED}`, stale: [] });
  });

  it("Debian's system python3 (PEP 668): its own pip replaces the copy in /usr/local/lib/python3.11/dist-packages", async () => {
    const vuln = { ...urllib3(), path: PY_SYSTEM_PATH };
    const r = await patch(system, await report(pythonTrivyReport(system, [vuln])), '--pkg-types', 'library');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('/usr/bin/python3.11 is externally managed (PEP 668)');
    const dist = 'usr/local/lib/python3.11/dist-packages';
    const entries = await patchLayer(r.out);
    const allowed = new RegExp(
      `^(usr/|usr/local/|usr/local/lib/|usr/local/lib/python3.11/|${dist}/|${dist}/urllib3(/.*|-[0-9.]+\\.dist-info/.*)?|${dist}/\\.wh\\.urllib3-.*)$`,
    );
    expect(entries.filter((e) => !allowed.test(e))).toEqual([]);
    const version = await withUnpackedImage(r.out, 'p', async (root) => {
      const out = await runInChroot(root, [
        'python3',
        '-c',
        'import urllib3; print(urllib3.__file__, urllib3.__version__)',
      ]);
      return out.stdout.trim();
    });
    expect(version).toBe(`/${dist}/urllib3/__init__.py ${PY_FIXED}`);
  });

  it('a version that does not exist fails in one line; --ignore-errors patches the rest and leaves it out of VEX', async () => {
    const file = await report(pythonTrivyReport(app, [urllib3('1.26.999'), certifi]));
    const bad = await patch(app, file, '--pkg-types', 'library');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain(
      'Error: python package urllib3 1.26.999 at /app/venv: pip install failed: ERROR: No matching distribution found for urllib3==1.26.999',
    );
    expect(existsSync(bad.out)).toBe(false);

    const vex = join(work, 'vex.json');
    const ok = await patch(
      app,
      file,
      '--pkg-types',
      'library',
      '--ignore-errors',
      '--format',
      'openvex',
      '--output',
      vex,
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect((await inspectVenv(ok.out)).versions).toBe(`${PY_OLD} ${CERTIFI_FIXED}`);
    const doc = JSON.parse(await readFile(vex, 'utf8')) as { statements: Array<{ status: string }> };
    const text = JSON.stringify(doc.statements);
    expect(text).toContain(`pkg:pypi/certifi@`);
    expect(text).not.toContain('urllib3');
    expect(doc.statements.every((s) => s.status === 'fixed')).toBe(true);
  });
});

const BK_MISSING = buildkitdMissing();

describe.skipIf(BK_MISSING !== undefined)(
  `python-pkg on the BuildKit engine (--addr) ${BK_MISSING ?? ''}`,
  () => {
    let buildkitd: TestBuildkitd;
    let extraCa: string;

    beforeAll(async () => {
      buildkitd = await startBuildkitd({ insecureRegistries: [registry.host], name: 'python' });
      // an extra CA as a company would pass it: the bundle bound in is the host's bundle plus this file
      extraCa = join(work, 'extra-ca.pem');
      await selfSigned({ key: join(work, 'extra-ca.key'), cert: extraCa, cn: 'copa test extra CA' });
    }, 300_000);

    afterAll(async () => {
      await buildkitd?.stop();
    });

    it('venv with pip, --ca-certs: the CA bundle reaches pip in the exec, the same layer and versions as native', async () => {
      const file = await report(pythonTrivyReport(app, [urllib3(), certifi]));
      const common = ['--pkg-types', 'library', '--ca-certs', extraCa];
      const bk = await patch(app, file, ...common, '--addr', buildkitd.addr);
      expect(bk.stderr).not.toMatch(/^Error/m);
      expect(bk.code).toBe(0);
      expect(await inspectVenv(bk.out)).toEqual({ versions: `${PY_FIXED} ${CERTIFI_FIXED}`, stale: [] });
      const native = await patch(app, file, ...common);
      expect(native.code, native.stderr).toBe(0);
      // pip removes and rewrites the package dirs: the native layer carries them whole (an opaque dir), while
      // BuildKit's differ leaves out the files rewritten byte for byte; nothing else differs
      const bkEntries = await patchLayer(bk.out);
      const nativeEntries = new Set(await patchLayer(native.out));
      expect(bkEntries.filter((e) => !nativeEntries.has(e))).toEqual([]);
      expect(bkEntries.some((e) => e.endsWith(`urllib3-${PY_FIXED}.dist-info/METADATA`))).toBe(true);
      expectCleanLayer(bkEntries);
    });

    it('no pip in the venv: the tooling image runs in the daemon, files swapped in place', async () => {
      const file = await report(pythonTrivyReport(nopip, [urllib3(), certifi]));
      const r = await patch(nopip, file, '--pkg-types', 'library', '--addr', buildkitd.addr);
      expect(r.stderr).not.toMatch(/^Error/m);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`Using tooling image ${registry.host}/library/python:3.11-slim`);
      expectCleanLayer(await patchLayer(r.out));
      expect(await inspectVenv(r.out)).toEqual({ versions: `${PY_FIXED} ${CERTIFI_FIXED}`, stale: [] });
    });
  },
);
