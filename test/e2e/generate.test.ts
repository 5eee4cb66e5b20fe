import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, copa } from '../helpers/cli.js';
import { dockerCli, startDockerd, type TestDocker } from '../helpers/dockerd.js';
import { ensureDebianFixture, pushFixture, type DebianFixture } from '../helpers/fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { trivyReport } from '../helpers/trivy.js';
import { upgradablePackages, type Upgradable } from '../helpers/upgradable.js';

/**
 * `copa generate` end to end: the build context it writes is built by a real Docker engine (20.10's classic
 * builder, FROM the image in a local registry) and the built image has the patched versions.
 */

let registry: TestRegistry;
let docker: TestDocker;
let fixture: DebianFixture;
let upgradable: Upgradable[];
let chosen: Upgradable[];
let work: string;
let cacheDir: string;
let source: string;
let report: string;

function dpkgGe(a: string, b: string): boolean {
  try {
    execFileSync('dpkg', ['--compare-versions', a, 'ge', b]);
    return true;
  } catch {
    return false;
  }
}

function tarList(file: string): string[] {
  return execFileSync('tar', ['-tf', file], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n')
    .filter(Boolean);
}

/** Run a command with a file as stdin or stdout (binary safe); resolves with exit code and stderr. */
async function runWithFile(
  cmd: string,
  args: string[],
  file: { stdin?: string; stdout?: string },
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stderr: string }> {
  const fh = await open(file.stdin ?? file.stdout ?? '', file.stdin ? 'r' : 'w');
  try {
    const stdio: ['ignore' | number, 'ignore' | number, 'pipe'] = file.stdin
      ? [fh.fd, 'ignore', 'pipe']
      : ['ignore', fh.fd, 'pipe'];
    const child = spawn(cmd, args, { env, stdio });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
    return { code, stderr };
  } finally {
    await fh.close();
  }
}

function dpkgQuery(out: string): Map<string, string> {
  return new Map(
    out
      .trim()
      .split('\n')
      .map((l) => l.split('\t'))
      .map(([name = '', version = '']) => [name.replace(/:[a-z0-9-]+$/, ''), version]),
  );
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-generate-'));
  cacheDir = join(work, 'cache');
  registry = await startRegistry();
  fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  upgradable = await upgradablePackages(fixture);
  source = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12')).reference;
  const pick = upgradable.filter((u) => ['libssl3', 'openssl'].includes(u.name));
  chosen = pick.length > 0 ? pick : upgradable.slice(0, 2);
  report = join(work, 'report.json');
  await writeFile(
    report,
    trivyReport({
      family: 'debian',
      version: '12',
      arch: 'amd64',
      image: source,
      vulns: chosen.map((u) => ({ pkg: u.name, installed: u.from, fixed: u.to })),
    }),
  );
  docker = await startDockerd();
}, 900_000);

afterAll(async () => {
  await docker?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('copa generate', () => {
  it('--output-context: docker build of the context gives an image with the patched versions', async () => {
    const ctx = join(work, 'ctx.tar');
    const r = await copa([
      'generate',
      '-i',
      source,
      '-r',
      report,
      '--output-context',
      ctx,
      '--cache-dir',
      cacheDir,
      '-w',
      work,
    ]);
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const entries = tarList(ctx);
    expect(entries.slice(0, 2)).toEqual(['Dockerfile', 'patch/']);
    expect(entries).toContain('patch/var/lib/dpkg/status');
    expect(entries.every((e) => e === 'Dockerfile' || e.startsWith('patch/'))).toBe(true);
    expect(entries.some((e) => e.includes('/.wh.') || e.includes('var/lib/apt/lists/partial/'))).toBe(false);
    const df = execFileSync('tar', ['-xOf', ctx, 'Dockerfile'], { encoding: 'utf8' });
    expect(df).toMatch(
      new RegExp(
        `^FROM ${source.replace(/[.]/g, '\\.')}\\nCOPY patch/ /\\nLABEL sh\\.copa\\.image\\.patched="\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ"\\n$`,
      ),
    );
    expect(await readdir(work).then((n) => n.filter((x) => x.startsWith('ctx.tar.tmp')))).toEqual([]);

    const built = await runWithFile(
      dockerCli(),
      ['build', '-t', 'copa-test/generated:1', '-'],
      { stdin: ctx },
      docker.env,
    );
    expect(built.code, built.stderr).toBe(0);
    const q = await docker.docker([
      'run',
      '--rm',
      '--network',
      'none',
      'copa-test/generated:1',
      'dpkg-query',
      '-W',
      ...chosen.map((u) => u.name),
    ]);
    const versions = dpkgQuery(q.stdout);
    for (const u of chosen)
      expect(dpkgGe(versions.get(u.name) ?? '0', u.to), `${u.name} ${versions.get(u.name)} >= ${u.to}`).toBe(
        true,
      );
    const label = await docker.docker([
      'image',
      'inspect',
      '--format',
      '{{index .Config.Labels "sh.copa.image.patched"}}',
      'copa-test/generated:1',
    ]);
    expect(df).toContain(`"${label.stdout.trim()}"`);
  });

  it('update-all on a multi-platform index: the host platform is patched into one context, which docker builds', async () => {
    // an index whose linux/amd64 entry is the fixture; a windows entry (same manifest) makes it multi-platform
    const digest = execFileSync(
      'skopeo',
      ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${source}`],
      { encoding: 'utf8' },
    ).trim();
    const res = await fetch(`http://${registry.host}/v2/debian/manifests/${digest}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const size = (await res.arrayBuffer()).byteLength;
    const entry = (platform: Record<string, string>) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest,
      size,
      platform,
    });
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        entry({ os: 'linux', architecture: 'amd64' }),
        entry({ os: 'windows', architecture: 'amd64' }),
      ],
    };
    const put = await fetch(`http://${registry.host}/v2/debian/manifests/12-multi`, {
      method: 'PUT',
      body: JSON.stringify(index),
      headers: { 'content-type': index.mediaType },
    });
    expect(put.status).toBe(201);
    const multi = `${registry.host}/debian:12-multi`;

    const ctx = join(work, 'multi.tar');
    const r = await copa([
      'generate',
      '-i',
      multi,
      '--output-context',
      ctx,
      '--cache-dir',
      cacheDir,
      '-w',
      work,
    ]);
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    expect(execFileSync('tar', ['-xOf', ctx, 'Dockerfile'], { encoding: 'utf8' })).toMatch(
      new RegExp(`^FROM ${multi.replace(/[.]/g, '\\.')}\\n`),
    );
    expect(tarList(ctx)).toContain('patch/var/lib/dpkg/status');
    const built = await runWithFile(
      dockerCli(),
      ['build', '-t', 'copa-test/generated:multi', '-'],
      { stdin: ctx },
      docker.env,
    );
    expect(built.code, built.stderr).toBe(0);
    const q = await docker.docker([
      'run',
      '--rm',
      '--network',
      'none',
      'copa-test/generated:multi',
      'dpkg-query',
      '-W',
      ...upgradable.map((u) => u.name),
    ]);
    const versions = dpkgQuery(q.stdout);
    for (const u of upgradable)
      expect(dpkgGe(versions.get(u.name) ?? '0', u.to), `${u.name} ${versions.get(u.name)} >= ${u.to}`).toBe(
        true,
      );
  });

  it('a report directory is refused (generate patches one platform)', async () => {
    const r = await copa(['generate', '-i', source, '-r', work, '--output-context', join(work, 'dir.tar')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/report file/);
  });

  it('stdout (not a terminal): the same context as a stream', async () => {
    const out = join(work, 'stdout.tar');
    const r = await runWithFile(
      process.execPath,
      [CLI, 'generate', '-i', source, '-r', report, '--cache-dir', cacheDir, '-w', work],
      { stdout: out },
      process.env,
    );
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    const entries = tarList(out);
    expect(entries.slice(0, 2)).toEqual(['Dockerfile', 'patch/']);
    expect(entries).toContain('patch/var/lib/dpkg/status');
  });

  it('refuses to write the tar to a terminal (stdout is a pty under script(1))', async () => {
    const cmd = [process.execPath, CLI, 'generate', '-i', source, '-r', report]
      .map((a) => `'${a}'`)
      .join(' ');
    const r = await runWithFile(
      'script',
      ['-qec', cmd, '/dev/null'],
      { stdout: join(work, 'tty.log') },
      process.env,
    );
    expect(r.code).toBe(2);
    const log = execFileSync('cat', [join(work, 'tty.log')], { encoding: 'utf8' });
    expect(log).toContain('refusing to write the build context (a tar archive) to a terminal');
  });

  it('"Image is already up-to-date": exit 0 and nothing written', async () => {
    const old = join(work, 'old.json');
    const u = chosen[0]!;
    await writeFile(
      old,
      trivyReport({
        family: 'debian',
        version: '12',
        arch: 'amd64',
        image: source,
        vulns: [{ pkg: u.name, installed: u.from, fixed: u.from }],
      }),
    );
    const ctx = join(work, 'noop.tar');
    const r = await copa([
      'generate',
      '-i',
      source,
      '-r',
      old,
      '--output-context',
      ctx,
      '--cache-dir',
      cacheDir,
      '-w',
      work,
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Image is already up-to-date');
    expect(existsSync(ctx)).toBe(false);
  });

  it('a full reference as --tag is a usage error', async () => {
    const r = await copa([
      'generate',
      '-i',
      source,
      '-t',
      'example.com/other:1',
      '--output-context',
      join(work, 'x.tar'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/plain tag/);
  });
});
