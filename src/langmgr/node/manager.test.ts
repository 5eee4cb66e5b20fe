import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { CopaError } from '../../errors.js';
import { silentLogger } from '../../log.js';
import type { Executor } from '../../engine/types.js';
import type { UpdatePackage } from '../../report/types.js';
import type { LanguageContext } from '../types.js';
import { nodeManager } from './manager.js';
import { tarballName } from './site.js';

/** An image without npm holding an app and a global package; commands are refused (dry runs run none). */
function image(): Executor {
  const files = new Map<string, string>([
    ['/app/package.json', JSON.stringify({ name: 'web', version: '1.0.0' })],
    ['/app/node_modules/minimist/package.json', JSON.stringify({ name: 'minimist', version: '1.2.5' })],
    ['/usr/local/lib/node_modules/semver/package.json', JSON.stringify({ name: 'semver', version: '7.5.1' })],
    ['/usr/local/lib/node_modules/npm/package.json', JSON.stringify({ name: 'npm', version: '9.0.0' })],
  ]);
  return {
    created: [],
    bind: () => Promise.resolve(),
    run: () => Promise.resolve({ code: 127, stdout: '', stderr: 'not found' }),
    close: () => Promise.resolve(),
    readFile: (p) => Promise.resolve(files.has(p) ? Buffer.from(files.get(p) ?? '') : undefined),
    list: (p) => {
      const names = new Set<string>();
      for (const f of files.keys())
        if (f.startsWith(`${p}/`)) names.add(f.slice(p.length + 1).split('/')[0] ?? '');
      return Promise.resolve(names.size > 0 ? [...names].sort() : undefined);
    },
  };
}

function ctx(over: Partial<LanguageContext> = {}): LanguageContext {
  const exec = image();
  return {
    exec: () => exec,
    withTooling: () => Promise.reject(new Error('no tooling in unit tests')),
    withoutTooling: () => Promise.resolve(exec),
    toolEnv: () => Promise.resolve({}),
    indexes: {},
    image: { env: [], labels: {}, history: [], platform: { os: 'linux', architecture: 'amd64' } },
    logger: silentLogger,
    ignoreErrors: false,
    dryRun: true,
    signal: new AbortController().signal,
    ...over,
  };
}

const u = (name: string, fixedVersion: string, pkgPath: string): UpdatePackage => ({
  name,
  installedVersion: '0',
  fixedVersion,
  vulnerabilityID: 'CVE-1',
  type: 'node-pkg',
  pkgPath,
});

describe('node manager (dry run)', () => {
  it('plans app and global changes, skips npm itself and missing copies', async () => {
    const r = await nodeManager.patch(ctx(), [
      u('minimist', '1.2.6', '/app/node_modules/minimist/package.json'),
      u('minimist', '1.2.6', 'app/node_modules/minimist/package.json'), // same copy, other spelling
      u('semver', '7.5.2', 'usr/local/lib/node_modules/semver/package.json'),
      u('npm', '10.0.0', 'usr/local/lib/node_modules/npm/package.json'),
      u('json5', '1.0.2', 'app/node_modules/x/node_modules/json5/package.json'),
    ]);
    expect(r.changes).toEqual([
      { type: 'node-pkg', name: 'minimist', path: '/app', from: '1.2.5', to: '1.2.6' },
      { type: 'node-pkg', name: 'semver', path: '/usr/local/lib/node_modules', from: '7.5.1', to: '7.5.2' },
    ]);
    expect(r.skipped.map((s) => [s.name, s.reason])).toEqual([
      ['npm', 'npm itself is not patched (only packages inside its tree)'],
      ['json5', 'not installed at /app/node_modules/x/node_modules/json5'],
    ]);
    expect(r.failed).toEqual([]);
  });

  it('a bad name or version: one error before anything runs, or failed entries with --ignore-errors', async () => {
    const bad = [
      u('Evil;rm', '1.0.0', 'app/node_modules/x/package.json'),
      u('minimist', 'latest', 'app/node_modules/minimist/package.json'),
    ];
    const err = await nodeManager.patch(ctx({ dryRun: false }), bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopaError);
    expect((err as CopaError).code).toBe('PACKAGE_NAME');
    expect((err as CopaError).message).toMatch(
      /invalid npm package name.*; minimist .*invalid version "latest"/,
    );
    const r = await nodeManager.patch(ctx({ ignoreErrors: true }), bad);
    expect(r.failed.map((f) => f.name)).toEqual(['Evil;rm', 'minimist']);
    expect(r.changes).toEqual([]);
  });
});

/** A registry tarball of name@version (package/package.json only). */
async function tarball(name: string, version: string): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  pack.entry({ name: 'package/package.json', mode: 0o644 }, JSON.stringify({ name, version }));
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

/**
 * An image whose commands are played by a fake npm (`npm pack` writes tarballs into the map, a version in
 * `missing` fails the run as npm does) and a fake replacement script (sets the copies' package.json).
 * `npm: false`: npm does not start in the image (exit 127), but in the tooling root it does.
 */
function npmImage(opts: { missing?: string[]; npm?: boolean } = {}) {
  const files = new Map<string, Buffer>();
  const put = (p: string, v: object) => files.set(p, Buffer.from(JSON.stringify(v)));
  put('/app/package.json', { name: 'web', version: '1.0.0' });
  put('/app/node_modules/minimist/package.json', { name: 'minimist', version: '1.2.5' });
  put('/app/node_modules/x/node_modules/json5/package.json', { name: 'json5', version: '1.0.1' });
  put('/usr/local/lib/node_modules/semver/package.json', { name: 'semver', version: '7.5.1' });
  put('/opt/g/lib/node_modules/glob/package.json', { name: 'glob', version: '7.0.0' });
  const npmCalls: string[][] = [];
  const scripts: string[][] = [];
  const listed: string[] = [];
  const image = (p: string) => p.replace(/^\/copa-image(?=\/)/, '');
  const exec: Executor = {
    created: [],
    bind: () => Promise.resolve(),
    async run(argv, ro) {
      const npmAt = argv.indexOf('npm');
      if (npmAt >= 0) {
        npmCalls.push(argv.slice(npmAt + 1));
        if (opts.npm === false && ro?.in !== 'tooling')
          return { code: 127, stdout: '', stderr: 'sh: exec: npm: not found' };
        if (argv[npmAt + 1] === 'root') return { code: 0, stdout: '/opt/g/lib/node_modules\n', stderr: '' };
        const dir = argv[4] ?? '';
        const specs = argv.slice(npmAt + 3).map((a) => {
          const i = a.lastIndexOf('@');
          return { name: a.slice(0, i), version: a.slice(i + 1) };
        });
        const bad = specs.find((x) => opts.missing?.includes(`${x.name}@${x.version}`));
        if (bad) {
          const msg = `No matching version found for ${bad.name}@${bad.version}.`;
          return { code: 1, stdout: '', stderr: `npm ERR! code ETARGET\nnpm ERR! notarget ${msg}\n` };
        }
        const out = [];
        for (const x of specs) {
          files.set(`${dir}/${tarballName(x)}`, await tarball(x.name, x.version));
          out.push({ id: `${x.name}@${x.version}`, ...x, filename: tarballName(x) });
        }
        return { code: 0, stdout: JSON.stringify(out, null, 2), stderr: '' };
      }
      if (argv[0] === 'sh' && argv[2]?.includes('rep()')) {
        scripts.push(argv.slice(4));
        const lines: string[] = [];
        const rest = argv.slice(5);
        for (let i = 0; rest.length >= 3; i++) {
          const [tgz = '', dir = '', n = '0'] = rest.splice(0, 3);
          rest.splice(0, Number(n));
          const m = /([^/]+)-(\d+\.\d+\.\d+)\.tgz$/.exec(tgz);
          const name = files.get(`${image(dir)}/package.json`)?.toString();
          if (!m || !name) lines.push(`fail ${i} no such dir`);
          else {
            put(`${image(dir)}/package.json`, { ...(JSON.parse(name) as object), version: m[2] });
            lines.push(`ok ${i}`);
          }
        }
        return { code: 0, stdout: lines.join('\n') + '\n', stderr: '' };
      }
      if (argv[0] === 'sh' && argv[2] === 'cat > "$1"') {
        files.set(image(argv[4] ?? ''), Buffer.from(ro?.stdin ?? ''));
        return { code: 0, stdout: '', stderr: '' };
      }
      if (argv[0] === 'rm') return { code: 0, stdout: '', stderr: '' };
      return { code: 2, stdout: '', stderr: `unexpected ${argv.join(' ')}` };
    },
    close: () => Promise.resolve(),
    readFile: (p) => Promise.resolve(files.get(p)),
    list: (p) => {
      listed.push(p);
      const names = new Set<string>();
      for (const f of files.keys())
        if (f.startsWith(`${p}/`)) names.add(f.slice(p.length + 1).split('/')[0] ?? '');
      return Promise.resolve(names.size > 0 ? [...names].sort() : undefined);
    },
  };
  const version = (dir: string) =>
    (JSON.parse(files.get(`/${dir}/package.json`)?.toString() ?? '{}') as { version?: string }).version;
  let tooling: string[] | undefined;
  const c = ctx({
    dryRun: false,
    exec: () => exec,
    withTooling: (images) => {
      tooling = images;
      return Promise.resolve(exec);
    },
  });
  return { c, npmCalls, scripts, listed, version, tooling: () => tooling };
}

const LIBS = [
  u('minimist', '1.2.6', 'app/node_modules/minimist/package.json'),
  u('json5', '1.0.2', 'app/node_modules/x/node_modules/json5/package.json'),
  u('semver', '7.5.2', 'usr/local/lib/node_modules/semver/package.json'),
];

describe('node manager (npm played by a fake)', () => {
  it('one npm start packs every spec, one script replaces every copy; no npm root -g for known roots', async () => {
    const f = npmImage();
    const r = await nodeManager.patch(f.c, LIBS);
    expect(f.npmCalls).toEqual([['pack', '--json', 'minimist@1.2.6', 'json5@1.0.2', 'semver@7.5.2']]);
    expect(f.scripts).toHaveLength(1);
    expect(r.changes.map((c) => `${c.name}@${c.to} ${c.path}`)).toEqual([
      'minimist@1.2.6 /app',
      'json5@1.0.2 /app',
      'semver@7.5.2 /usr/local/lib/node_modules',
    ]);
    expect(r.failed).toEqual([]);
    expect(f.version('app/node_modules/x/node_modules/json5')).toBe('1.0.2');
    expect(f.tooling()).toBeUndefined();
    // the app's tree is walked once for both of its entries
    expect(f.listed.filter((p) => p === '/app/node_modules')).toHaveLength(1);
  });

  it('a failing batch: each spec on its own, the error names the package; --ignore-errors patches the rest', async () => {
    const f = npmImage({ missing: ['minimist@1.2.999'] });
    const bad = [u('minimist', '1.2.999', 'app/node_modules/minimist/package.json'), LIBS[2]!];
    const err = await nodeManager.patch(f.c, bad).catch((e: unknown) => e);
    expect((err as CopaError).code).toBe('PACKAGE_MANAGER');
    expect((err as CopaError).message).toMatch(
      /^node libraries not patched: minimist \(app\/node_modules\/minimist\/package.json\): npm pack minimist@1\.2\.999: No matching version found for minimist@1\.2\.999\.$/,
    );
    expect(f.npmCalls.map((c) => c.slice(2).join(' '))).toEqual([
      'minimist@1.2.999 semver@7.5.2',
      'minimist@1.2.999',
      'semver@7.5.2',
    ]);
    expect(f.scripts).toEqual([]);

    const g = npmImage({ missing: ['minimist@1.2.999'] });
    const r = await nodeManager.patch({ ...g.c, ignoreErrors: true }, bad);
    expect(r.failed.map((x) => x.name)).toEqual(['minimist']);
    expect(r.changes.map((c) => `${c.name}@${c.to}`)).toEqual(['semver@7.5.2']);
    expect([g.version('app/node_modules/minimist'), g.version('usr/local/lib/node_modules/semver')]).toEqual([
      '1.2.5',
      '7.5.2',
    ]);
  });

  it('npm does not start in the image: the tooling image packs and replaces', async () => {
    const f = npmImage({ npm: false });
    const r = await nodeManager.patch(f.c, LIBS);
    expect(f.tooling()).toEqual(['docker.io/library/node:lts-alpine']);
    expect(f.npmCalls).toHaveLength(2);
    expect(f.scripts[0]?.[2]).toBe('/copa-image/app/node_modules/minimist');
    expect(r.changes).toHaveLength(3);
    expect(f.version('usr/local/lib/node_modules/semver')).toBe('7.5.2');
  });

  it('npm root -g only for a node_modules that is neither a known global root nor in an app', async () => {
    const f = npmImage();
    const glob = u('glob', '7.2.3', 'opt/g/lib/node_modules/glob/package.json');
    const r = await nodeManager.patch({ ...f.c, dryRun: true }, [LIBS[0]!, glob]);
    expect(f.npmCalls).toEqual([['root', '-g']]);
    expect(r.changes.map((c) => c.path)).toEqual(['/app', '/opt/g/lib/node_modules']);
    const env = npmImage();
    const image = { ...env.c.image, env: ['NPM_CONFIG_PREFIX=/opt/g/'] };
    const r2 = await nodeManager.patch({ ...env.c, dryRun: true, image }, [glob]);
    expect(env.npmCalls).toEqual([]);
    expect(r2.changes.map((c) => c.path)).toEqual(['/opt/g/lib/node_modules']);
  });
});
