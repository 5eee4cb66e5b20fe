import {
  access,
  constants,
  copyFile,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDebianReport } from '../helpers/debian-report.js';
import { CommandError, run } from '../helpers/exec.js';
import { ensureDebianFixture, pushFixture, type DebianFixture } from '../helpers/fixtures.js';
import { dpkgGe, pullToLayout, rawManifest } from '../helpers/inspect.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import {
  installedVersions,
  upgradablePackages,
  withUnpackedImage,
  type Upgradable,
} from '../helpers/upgradable.js';

/**
 * The npm package as a user gets it: `npm pack` of this repo, `npm install` of the tarball into an empty
 * project (dependencies from the registry npm is configured with), then the installed `copa` bin through
 * `npx`, and the README's library example type-checked against the installed types and run — each patching
 * a real bookworm fixture in a local registry.
 */

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

let work: string;
let project: string;
let registry: TestRegistry;
let fixture: DebianFixture;
let upgradable: Upgradable[];
let packed: { filename: string; version: string; files: Array<{ path: string; mode: number }> };
let env: NodeJS.ProcessEnv;
let installLog: string;

/** the README's code between <!-- library-example --> and <!-- /library-example --> */
async function readmeExample(): Promise<string> {
  const readme = await readFile(join(REPO, 'README.md'), 'utf8');
  const m = /<!-- library-example -->\n```ts\n([\s\S]*?)```\n<!-- \/library-example -->/.exec(readme);
  if (!m?.[1]) throw new Error('README.md has no library example between its markers');
  return m[1];
}

/** tsc on one file of the temp project, against the installed package (its own .d.ts and dependencies) */
async function typecheck(file: string): Promise<{ ok: boolean; output: string }> {
  const config = {
    compilerOptions: {
      module: 'nodenext',
      target: 'es2022',
      strict: true,
      skipLibCheck: false, // the package's .d.ts files are checked too
      types: ['node'],
      typeRoots: [join(REPO, 'node_modules', '@types')],
      outDir: '.',
    },
    files: [file],
  };
  await writeFile(join(project, 'tsconfig.json'), JSON.stringify(config, null, 2));
  try {
    const r = await run(process.execPath, [TSC, '-p', project], { cwd: project });
    return { ok: true, output: r.stdout };
  } catch (e) {
    if (e instanceof CommandError) return { ok: false, output: e.stdout + e.stderr };
    throw e;
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-npm-'));
  const packDir = join(work, 'pack');
  await mkdir(packDir);
  // prepack cleans dist/ and builds: the tarball never carries stale files
  const pack = await run('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: REPO });
  packed = (JSON.parse(pack.stdout) as Array<typeof packed>)[0]!;

  project = join(work, 'project');
  await mkdir(project);
  await run('npm', ['init', '-y'], { cwd: project });
  const install = await run('npm', ['install', '--no-audit', '--no-fund', join(packDir, packed.filename)], {
    cwd: project,
  });
  installLog = install.stdout + install.stderr;

  registry = await startRegistry();
  fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  upgradable = await upgradablePackages(fixture);
  env = { ...process.env, COPA_EOL_API_URL: 'off', XDG_CACHE_HOME: join(work, 'xdg') };
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships dist/ (no tests, test data, test support or source maps), README, LICENSE and package.json', async () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths.filter((p) => !p.startsWith('dist/')).sort()).toEqual([
      'LICENSE',
      'README.md',
      'package.json',
    ]);
    const stray = (p: string): boolean =>
      /\.test\.|testdata|\.map$|recorded/.test(p) || (p.endsWith('.ts') && !p.endsWith('.d.ts'));
    expect(paths.filter(stray)).toEqual([]);
    for (const p of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'dist/engine/native/child.js',
      'dist/action/main.js',
    ])
      expect(paths, p).toContain(p);
    // the tarball holds exactly what npm listed
    const tar = await run('tar', ['tzf', join(work, 'pack', packed.filename)]);
    expect(
      tar.stdout
        .trim()
        .split('\n')
        .map((l) => l.replace(/^package\//, ''))
        .sort(),
    ).toEqual([...paths].sort());
  });

  it('installs with its engines, and the bin is an executable node script linked as copa', async () => {
    const installed = join(project, 'node_modules', 'copa-ts');
    const pkg = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as {
      engines: { node: string };
      bin: Record<string, string>;
    };
    const ours = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    expect(pkg.engines.node).toBe(ours.engines.node);
    // every dependency's own engines accept the Node running this test (CI: the lowest supported, 20.x)
    expect(installLog).not.toMatch(/EBADENGINE/);
    expect(pkg.bin).toEqual({ copa: 'dist/cli/main.js' });
    const link = join(project, 'node_modules', '.bin', 'copa');
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(resolve(dirname(link), await readlink(link))).toBe(join(installed, 'dist', 'cli', 'main.js'));
    await access(link, constants.X_OK);
    expect((await readFile(link, 'utf8')).split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('every file the installed code opens by a path relative to itself is there', async () => {
    const dist = join(project, 'node_modules', 'copa-ts', 'dist');
    const js = packed.files.map((f) => f.path).filter((p) => p.startsWith('dist/') && p.endsWith('.js'));
    const refs: string[] = [];
    for (const p of js) {
      const text = await readFile(join(project, 'node_modules', 'copa-ts', p), 'utf8');
      // tsc keeps the sources' quotes, esbuild (the bundled CLI) prints double quotes
      for (const m of text.matchAll(/new URL\((['"])(\.{1,2}\/[^'"]*)\1, import\.meta\.url\)/g)) {
        // a .ts target is the sources' fallback (tests run from src/), never used from dist/
        if (!m[2]!.endsWith('.ts'))
          refs.push(resolve(dirname(join(project, 'node_modules', 'copa-ts', p)), m[2]!));
      }
    }
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) await access(ref);
    expect(refs).toContain(join(dist, 'engine', 'native', 'child.js'));
    expect(refs).toContain(join(dist, 'cli', 'child.js'));
  });

  it('the CLI is bundled: copied alone (no node_modules anywhere above it) it runs, BuildKit client included', async () => {
    const cli = join(project, 'node_modules', 'copa-ts', 'dist', 'cli');
    const files = (await readdir(cli)).filter(
      (f) => f === 'main.js' || f === 'child.js' || f.startsWith('chunk-'),
    );
    expect(files.filter((f) => f.startsWith('chunk-')).length).toBeGreaterThan(0);
    const alone = await mkdtemp(join(tmpdir(), 'copa-cli-alone-'));
    try {
      await mkdir(join(alone, 'dist', 'cli'), { recursive: true });
      for (const f of files) await copyFile(join(cli, f), join(alone, 'dist', 'cli', f));
      await copyFile(join(project, 'node_modules', 'copa-ts', 'package.json'), join(alone, 'package.json'));
      const main = join(alone, 'dist', 'cli', 'main.js');
      const version = await run(process.execPath, [main, '--version'], { cwd: alone, env });
      expect(version.stdout.trim()).toBe(packed.version);
      // --addr loads the BuildKit client (gRPC, protobuf) from its own chunk; it gets as far as connecting
      const bk = await run(
        process.execPath,
        [main, 'patch', '-i', '127.0.0.1:9/none:1', '--addr', `unix://${alone}/no.sock`],
        { cwd: alone, env },
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!(bk instanceof CommandError)) throw new Error(`expected a failure, got ${String(bk)}`);
      expect(bk.exitCode).toBe(1);
      expect(bk.stderr).toMatch(/^Error: cannot reach BuildKit at unix:\/\/.*no\.sock/m);
      expect(bk.stderr).not.toMatch(/Cannot find (module|package)|ERR_MODULE_NOT_FOUND/);
    } finally {
      await rm(alone, { recursive: true, force: true });
    }
  });
});

describe('the installed package', () => {
  it('npx copa --version and patch --help', async () => {
    expect((await run('npx', ['copa', '--version'], { cwd: project, env })).stdout.trim()).toBe(
      packed.version,
    );
    const help = await run('npx', ['copa', 'patch', '--help'], { cwd: project, env });
    expect(help.stdout).toContain('-i, --image <ref>');
    expect(help.stdout).toContain('--push');
  });

  it('npx copa patch patches a real image (report mode, pushed)', async () => {
    const source = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12'))
      .reference;
    const report = join(work, 'report.json');
    const chosen = await writeDebianReport(report, source, fixture.arch, upgradable);
    const r = await run('npx', ['copa', 'patch', '-i', source, '-r', report, '--push', '--json'], {
      cwd: project,
      env,
    });
    const result = JSON.parse(r.stdout) as { status: string; patchedImage: string };
    expect(result).toMatchObject({ status: 'Patched', patchedImage: `${registry.host}/debian:12-patched` });
    const after = rawManifest(result.patchedImage);
    expect(after.layers).toHaveLength(rawManifest(source).layers.length + 1);
    const layout = await pullToLayout(result.patchedImage, work);
    await withUnpackedImage(layout, 'x', async (root) => {
      const versions = await installedVersions(root);
      for (const u of chosen)
        expect(dpkgGe(versions.get(u.name) ?? '0', u.to), `${u.name} >= ${u.to}`).toBe(true);
    });
  });

  it("the README's library example type-checks against the installed types and patches an image", async () => {
    await writeFile(join(project, 'patch-image.mts'), await readmeExample());
    const checked = await typecheck('patch-image.mts');
    expect(checked.output).toBe('');
    expect(checked.ok).toBe(true);

    const source = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'lib-example:12'))
      .reference;
    const report = join(work, 'report-lib.json');
    const chosen = await writeDebianReport(report, source, fixture.arch, upgradable);
    const r = await run(process.execPath, ['patch-image.mjs', source, report], { cwd: project, env });
    const target = `${registry.host}/lib-example:12-patched`;
    expect(r.stdout).toContain(`Patched: ${target}`);
    for (const u of chosen) expect(r.stdout).toMatch(new RegExp(`^  ${u.name} \\S+ -> `, 'm'));
    expect(rawManifest(target).layers).toHaveLength(rawManifest(source).layers.length + 1);
  });

  it('the types are precise: an unknown option is a compile error, not any', async () => {
    await writeFile(
      join(project, 'wrong.mts'),
      "import { patch } from 'copa-ts';\nawait patch({ image: 'a:1', timeout: '5m' });\n",
    );
    const checked = await typecheck('wrong.mts');
    expect(checked.ok).toBe(false);
    expect(checked.output).toMatch(/'timeout' does not exist in type/);
  });
});
