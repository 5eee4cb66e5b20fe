import { describe, expect, it } from 'vitest';
import { CopaError } from '../../errors.js';
import type { Executor, RunOptions, RunResult } from '../../engine/types.js';
import { silentLogger } from '../../log.js';
import type { UpdatePackage } from '../../report/types.js';
import type { LanguageContext } from '../types.js';
import { pythonManager } from './manager.js';

const SITE = '/app/venv/lib/python3.11/site-packages';

/** An image as a map of files; `run` answers the probe and fakes pip by rewriting the dist-info. */
function fakeImage(opts: { pip: boolean; pipInstalls?: (spec: string) => string | undefined }) {
  const files = new Map<string, string>([
    ['/app/venv/pyvenv.cfg', 'home = /usr/bin\n'],
    ['/app/venv/bin/python', ''],
    [`${SITE}/urllib3-1.26.4.dist-info/METADATA`, 'Name: urllib3\nVersion: 1.26.4\n'],
    [`${SITE}/certifi-2023.7.22.dist-info/METADATA`, 'Name: certifi\nVersion: 2023.7.22\n'],
    [`${SITE}/setuptools-66.1.1.dist-info/METADATA`, 'Name: setuptools\nVersion: 66.1.1\n'],
    [`${SITE}/setuptools/_vendor/wheel-0.38.4.dist-info/METADATA`, 'Name: wheel\nVersion: 0.38.4\n'],
  ]);
  const calls: Array<{ argv: string[]; opts: RunOptions | undefined }> = [];
  const setVersion = (name: string, v: string) => {
    for (const k of [...files.keys()]) if (k.startsWith(`${SITE}/${name}-`)) files.delete(k);
    files.set(`${SITE}/${name}-${v}.dist-info/METADATA`, `Name: ${name}\nVersion: ${v}\n`);
  };
  const exec: Executor = {
    created: [],
    bind: () => Promise.resolve(),
    run(argv, o) {
      return Promise.resolve(runSync(argv, o));
    },
    readFile(path) {
      const f = files.get(path);
      return Promise.resolve(f === undefined ? undefined : Buffer.from(f));
    },
    list(path) {
      const names = new Set<string>();
      for (const k of files.keys())
        if (k.startsWith(`${path}/`)) names.add(k.slice(path.length + 1).split('/')[0]!);
      return Promise.resolve(names.size > 0 ? [...names].sort() : undefined);
    },
    close: () => Promise.resolve(),
  };
  function runSync(argv: string[], o: RunOptions | undefined): RunResult {
    calls.push({ argv, opts: o });
    if (argv.includes('--upgrade') && argv.at(-1) === 'setuptools') {
      files.delete(`${SITE}/setuptools/_vendor/wheel-0.38.4.dist-info/METADATA`);
      files.set(
        `${SITE}/setuptools/_vendor/wheel-0.45.1.dist-info/METADATA`,
        'Name: wheel\nVersion: 0.45.1\n',
      );
      return { code: 0, stdout: '', stderr: '' };
    }
    if (argv[1] === '-c' && o?.in !== 'tooling') {
      return {
        code: 0,
        stdout: JSON.stringify({ ownsSite: true, pip: opts.pip, managed: false, venv: true }),
        stderr: '',
      };
    }
    const specs = argv.filter((a) => a.includes('=='));
    for (const s of specs) {
      const [name = '', v = ''] = s.split('==');
      const got = opts.pipInstalls ? opts.pipInstalls(s) : v;
      if (got === undefined)
        return { code: 1, stdout: '', stderr: `ERROR: No matching distribution found for ${s}\n` };
      setVersion(name, got);
    }
    return { code: 0, stdout: '', stderr: '' };
  }
  return { exec, calls };
}

function ctx(exec: Executor, over: Partial<LanguageContext> = {}): LanguageContext & { tooling: string[][] } {
  const tooling: string[][] = [];
  return {
    exec: () => exec,
    withTooling(c) {
      tooling.push(c);
      return Promise.resolve(exec);
    },
    withoutTooling: () => Promise.resolve(exec),
    toolEnv: () => Promise.resolve({ PIP_CERT: '/run/copa-ca.pem' }),
    indexes: {},
    image: { env: [], labels: {}, history: [], platform: { os: 'linux', architecture: 'amd64' } },
    logger: silentLogger,
    ignoreErrors: false,
    dryRun: false,
    signal: new AbortController().signal,
    tooling,
    ...over,
  };
}

const u = (name: string, from: string, to: string, id = 'CVE-1', path?: string): UpdatePackage => ({
  name,
  installedVersion: from,
  fixedVersion: to,
  vulnerabilityID: id,
  type: 'python-pkg',
  class: 'lang-pkgs',
  pkgPath: path ?? `app/venv/lib/python3.11/site-packages/${name}-${from}.dist-info/METADATA`,
});

describe('python manager', () => {
  it('dry run: one change per (name, path); absent and already fixed entries are skipped', async () => {
    const { exec, calls } = fakeImage({ pip: true });
    const r = await pythonManager.patch(ctx(exec, { dryRun: true }), [
      u('urllib3', '1.26.4', '1.26.5', 'CVE-1'),
      u('urllib3', '1.26.4', '1.26.5', 'CVE-2'),
      u('requests', '2.25.0', '2.31.0'),
      u(
        'certifi',
        '2022.12.7',
        '2023.7.22',
        'CVE-3',
        `${SITE.slice(1)}/certifi-2022.12.7.dist-info/METADATA`,
      ),
    ]);
    expect(r.changes).toEqual([
      { type: 'python-pkg', name: 'urllib3', path: '/app/venv', from: '1.26.4', to: '1.26.5' },
    ]);
    expect(r.skipped.map((s) => s.reason)).toEqual([
      `not installed at ${SITE}`,
      'already at 2023.7.22 (fix: 2023.7.22)',
    ]);
    expect(calls).toEqual([]);
  });

  it("venv with pip: one pip run of the venv's Python, no cache, HOME on /tmp, validated", async () => {
    const { exec, calls } = fakeImage({ pip: true });
    const r = await pythonManager.patch(ctx(exec), [u('urllib3', '1.26.4', '1.26.5')]);
    expect(r.changes).toEqual([
      { type: 'python-pkg', name: 'urllib3', path: '/app/venv', from: '1.26.4', to: '1.26.5' },
    ]);
    const pip = calls.find((c) => c.argv.includes('install'))!;
    expect(pip.argv.slice(0, 4)).toEqual(['/app/venv/bin/python', '-m', 'pip', 'install']);
    expect(pip.argv).toContain('--no-cache-dir');
    expect(pip.argv.at(-1)).toBe('urllib3==1.26.5');
    expect(pip.opts?.env).toMatchObject({
      HOME: '/tmp',
      PIP_NO_CACHE_DIR: '1',
      PIP_CERT: '/run/copa-ca.pem',
    });
    expect(pip.opts?.env?.PIP_BREAK_SYSTEM_PACKAGES).toBeUndefined();
  });

  it('a pip failure or another version is an error; with --ignore-errors a failure entry, the rest still patched', async () => {
    const bad = (s: string) => (s.startsWith('urllib3') ? undefined : s.split('==')[1]);
    const a = fakeImage({ pip: true, pipInstalls: bad });
    const err = await pythonManager
      .patch(ctx(a.exec), [u('urllib3', '1.26.4', '1.26.999')])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopaError);
    expect((err as CopaError).message).toBe(
      'python package urllib3 1.26.999 at /app/venv: pip install failed: ERROR: No matching distribution found for urllib3==1.26.999',
    );
    const b = fakeImage({ pip: true, pipInstalls: () => '1.26.6' });
    const mismatch = await pythonManager
      .patch(ctx(b.exec), [u('urllib3', '1.26.4', '1.26.5')])
      .catch((e: unknown) => e);
    expect((mismatch as CopaError).code).toBe('VALIDATION');

    const c = fakeImage({ pip: true, pipInstalls: bad });
    const files = c.exec;
    await files.run(['x', 'certifi==2022.12.7']); // downgrade certifi so it has something to do
    const r = await pythonManager.patch(ctx(files, { ignoreErrors: true }), [
      u('urllib3', '1.26.4', '1.26.999'),
      u('certifi', '2022.12.7', '2023.7.22'),
    ]);
    expect(r.changes.map((x) => `${x.name} ${x.to}`)).toEqual(['certifi 2023.7.22']);
    expect(r.failed.map((f) => [f.name, f.installed])).toEqual([['urllib3', '1.26.4']]);
  });

  it('no pip in the venv: python:X.Y-slim tooling, --target into its /tmp, files swapped into the exact site dir', async () => {
    const { exec, calls } = fakeImage({ pip: false });
    const c = ctx(exec);
    const r = await pythonManager.patch(c, [u('urllib3', '1.26.4', '1.26.5')]);
    expect(c.tooling).toEqual([['docker.io/library/python:3.11-slim']]);
    const tool = calls.filter((x) => x.opts?.in === 'tooling');
    expect(tool[0]?.argv).toContain('--target');
    expect(tool[0]?.argv).toContain('/tmp/copa-pip/0');
    expect(tool[1]?.argv.slice(3)).toEqual([
      '/tmp/rootfs',
      `/tmp/rootfs${SITE}`,
      'urllib3',
      '/tmp/copa-pip/0',
    ]);
    expect(r.changes).toHaveLength(1);
  });

  it('rejects report data with shell text before running anything', async () => {
    const { exec, calls } = fakeImage({ pip: true });
    await expect(pythonManager.patch(ctx(exec), [u('urllib3;id', '1.26.4', '1.26.5')])).rejects.toThrow(
      /valid Python package name/,
    );
    const r = await pythonManager.patch(ctx(exec, { ignoreErrors: true }), [
      u('urllib3', '1.26.4', '1.26.5 && id'),
    ]);
    expect(r.failed[0]?.reason).toMatch(/not a PEP 440 version/);
    expect(calls).toEqual([]);
  });

  it('a vendored copy: best effort upgrade of its parent in the same environment, then looked at again', async () => {
    const { exec, calls } = fakeImage({ pip: true });
    const path = `${SITE.slice(1)}/setuptools/_vendor/wheel-0.38.4.dist-info/METADATA`;
    const r = await pythonManager.patch(ctx(exec), [u('wheel', '0.38.4', '0.38.5', 'CVE-9', path)]);
    expect(calls.find((c) => c.argv.includes('--upgrade'))?.argv.slice(-2)).toEqual([
      '--upgrade',
      'setuptools',
    ]);
    expect(r.changes).toEqual([
      { type: 'python-pkg', name: 'wheel', path: '/app/venv', from: '0.38.4', to: '0.45.1' },
    ]);
    const again = await pythonManager.patch(ctx(exec), [u('wheel', '0.38.4', '0.38.5', 'CVE-9', path)]);
    expect(again.skipped[0]?.reason).toBe(`not installed at ${SITE}`);
  });
});
