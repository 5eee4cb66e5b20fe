import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copa, startCli } from '../helpers/cli.js';
import { tagExists } from '../helpers/inspect.js';
import { ensureDebianFixture, pushFixture } from '../helpers/fixtures.js';
import { freePort, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { trivyReport } from '../helpers/trivy.js';

/** Bad input and failures: one clear line, a non-zero exit, nothing pushed, no leftovers. */

let registry: TestRegistry;
let work: string;
let cacheDir: string;
let source: string;

async function noLeftovers(): Promise<void> {
  const names = await readdir(work);
  expect(names.filter((n) => n.startsWith('copa-run-'))).toEqual([]);
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  expect(info.includes(work)).toBe(false);
}
function errorLine(stderr: string): string {
  return stderr.split('\n').find((l) => l.startsWith('Error: ')) ?? '';
}
async function report(name: string, body: string): Promise<string> {
  const p = join(work, name);
  await writeFile(p, body);
  return p;
}
const args = (...a: string[]) => [...a, '--cache-dir', cacheDir, '-w', work];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-err-'));
  cacheDir = join(work, 'cache');
  registry = await startRegistry();
  const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  source = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12')).reference;
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('copa patch failures', () => {
  it('malformed report', async () => {
    const r = await copa(
      args('patch', '-i', source, '-r', await report('bad.json', '{"not": "a report"'), '--push', '-t', 'x1'),
    );
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toMatch(/bad\.json/);
    expect(tagExists(`${registry.host}/debian:x1`)).toBe(false);
  });

  it('report for another architecture', async () => {
    const r = await copa(
      args(
        'patch',
        '-i',
        source,
        '-r',
        await report(
          'arm.json',
          trivyReport({
            family: 'debian',
            version: '12',
            arch: 'arm64',
            image: source,
            vulns: [{ pkg: 'openssl', installed: '1', fixed: '2' }],
          }),
        ),
        '--push',
        '-t',
        'x2',
      ),
    );
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toMatch(/linux\/arm64/);
    expect(tagExists(`${registry.host}/debian:x2`)).toBe(false);
    await noLeftovers();
  });

  it('report for another OS', async () => {
    const r = await copa(
      args(
        'patch',
        '-i',
        source,
        '-r',
        await report(
          'alpine.json',
          trivyReport({
            family: 'alpine',
            version: '3.19.1',
            arch: 'amd64',
            image: source,
            vulns: [{ pkg: 'openssl', installed: '1', fixed: '2' }],
          }),
        ),
        '--push',
        '-t',
        'x3',
      ),
    );
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toMatch(/alpine.*debian/);
    await noLeftovers();
  });

  it('package name with shell metacharacters never reaches a shell', async () => {
    const marker = join(work, 'pwned');
    const r = await copa(
      args(
        'patch',
        '-i',
        source,
        '-r',
        await report(
          'evil.json',
          trivyReport({
            family: 'debian',
            version: '12',
            arch: 'amd64',
            image: source,
            vulns: [{ pkg: `openssl;touch ${marker}`, installed: '1', fixed: '2' }],
          }),
        ),
        '--push',
        '-t',
        'x4',
      ),
    );
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toMatch(/not allowed/);
    await expect(readFile(marker)).rejects.toThrow();
    await noLeftovers();
  });

  it('image or tag not found', async () => {
    const r = await copa(args('patch', '-i', `${registry.host}/debian:does-not-exist`, '--push'));
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toMatch(/not found|unknown/i);
  });

  it('registry unreachable', async () => {
    const port = await freePort();
    const r = await copa(args('patch', '-i', `127.0.0.1:${port}/debian:12`, '--push'));
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}`));
  });

  it('no output chosen and no local image store (no docker engine, no podman)', async () => {
    const r = await copa(args('patch', '-i', source), {
      ...process.env,
      PATH: '/nonexistent',
      DOCKER_HOST: `unix://${join(work, 'no-docker.sock')}`,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--push|--oci-dir/);
  });

  it('apt failure (package repository unreachable): clear error, nothing pushed, no leftovers', async () => {
    // a derived image whose sources point at a closed loopback port, like an EOL release whose repository is gone
    const port = await freePort();
    const dir = await mkdtemp(join(work, 'eol-'));
    execFileSync(
      'skopeo',
      ['copy', '--insecure-policy', '--src-tls-verify=false', `docker://${source}`, `oci:${dir}/oci:eol`],
      { stdio: 'ignore' },
    );
    const layer = join(dir, 'rootfs');
    execFileSync('mkdir', ['-p', join(layer, 'etc/apt/sources.list.d')]);
    await writeFile(
      join(layer, 'etc/apt/sources.list.d/debian.sources'),
      `Types: deb\nURIs: http://127.0.0.1:${port}/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`,
    );
    execFileSync('tar', ['-C', layer, '-cf', join(dir, 'l.tar'), 'etc']);
    execFileSync('umoci', ['raw', 'add-layer', '--image', `${dir}/oci:eol`, join(dir, 'l.tar')]);
    execFileSync(
      'skopeo',
      [
        'copy',
        '--insecure-policy',
        '--dest-tls-verify=false',
        `oci:${dir}/oci:eol`,
        `docker://${registry.host}/debian:eol`,
      ],
      { stdio: 'ignore' },
    );
    const r = await copa(args('patch', '-i', `${registry.host}/debian:eol`, '--push'));
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toMatch(/apt-get update failed/);
    expect(r.stderr).toMatch(/next step/);
    expect(tagExists(`${registry.host}/debian:eol-patched`)).toBe(false);
    await noLeftovers();
  });

  it('killed mid-patch (SIGKILL): no mounts survive, the next run cleans up and succeeds', async () => {
    const { child, done } = startCli(args('patch', '-i', source, '--push', '-t', 'killed'));
    await new Promise<void>((resolve) => {
      let seen = '';
      child.stderr?.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('Updating package lists')) resolve();
      });
    });
    child.kill('SIGKILL');
    await done;
    // the sandbox (PID 1 of its namespace) dies with its parent's unshare: wait for it to go
    await new Promise((r) => setTimeout(r, 500));
    const stale = (await readdir(work)).filter((n) => n.startsWith('copa-run-'));
    expect(stale.length).toBe(1); // the crashed run's scratch dir, nothing mounted
    expect((await readFile('/proc/self/mountinfo', 'utf8')).includes(work)).toBe(false);
    const r = await copa(args('patch', '-i', source, '--push', '-t', 'killed'));
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    expect(tagExists(`${registry.host}/debian:killed`)).toBe(true);
    await noLeftovers();
  });
});
