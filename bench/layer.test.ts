import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeLayerFile, categorize, installedSize, normalName } from './layer.js';

describe('categorize', () => {
  it.each([
    ['./var/lib/dpkg/status', 'dpkg db'],
    ['var/lib/dpkg/info/libssl3:amd64.list', 'dpkg db'],
    ['/var/lib/dpkg/', 'dpkg db'],
    ['var/lib/apt/lists/deb.example_dists_bookworm_InRelease', 'apt lists'],
    ['var/cache/apt/pkgcache.bin', 'apt cache'],
    ['tmp/openssl_3.0_amd64.deb', 'apt cache'],
    ['var/log/apt/history.log', 'logs'],
    ['var/log/dpkg.log', 'package files'],
    ['var/log/alternatives.log', 'package files'],
    ['usr/lib/x86_64-linux-gnu/.wh.libssl.so.3.old', 'whiteouts'],
    ['./usr/bin/openssl', 'package files'],
  ])('%s -> %s', (name, category) => {
    expect(categorize(name)).toBe(category);
  });
  it('normalizes ./ and / prefixes and trailing slashes', () => {
    expect(normalName('./etc/ssl/')).toBe('etc/ssl');
    expect(normalName('//etc')).toBe('etc');
  });
});

describe('installedSize', () => {
  const status = [
    'Package: libssl3\nStatus: install ok installed\nInstalled-Size: 6000\nVersion: 3',
    'Package: openssl\nInstalled-Size: 2000\nVersion: 3',
    'Package: bash\nInstalled-Size: 7000\nVersion: 5',
  ].join('\n\n');
  it('sums Installed-Size (KiB) of the named packages only', () => {
    expect(installedSize(status, ['libssl3', 'openssl', 'not-there'])).toBe(8000 * 1024);
    expect(installedSize(status, [])).toBe(0);
  });
});

describe('analyzeLayerFile (a gzip tar made by GNU tar)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-layer-test-'));
    const root = join(dir, 'root');
    const files: Record<string, string> = {
      'usr/bin/tool': 'x'.repeat(3000),
      'var/lib/dpkg/status': 'Package: tool\nInstalled-Size: 3\n\nPackage: other\nInstalled-Size: 100\n',
      'var/cache/apt/archives/tool_1_amd64.deb': 'd'.repeat(500),
      'var/log/apt/term.log': 'log',
      'etc/.wh.gone': '',
    };
    for (const [path, body] of Object.entries(files)) {
      await mkdir(join(root, path, '..'), { recursive: true });
      await writeFile(join(root, path), body);
    }
    execFileSync('tar', [
      '--create',
      '--gzip',
      '--sort=name',
      '--file',
      join(dir, 'layer.tar.gz'),
      '-C',
      root,
      '.',
    ]);
    execFileSync('tar', ['--create', '--sort=name', '--file', join(dir, 'layer.tar'), '-C', root, '.']);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('counts bytes by category, the tar size, and Σ Installed-Size from the layer’s own status file', async () => {
    const c = await analyzeLayerFile(join(dir, 'layer.tar.gz'), ['tool']);
    const tarSize = Number(execFileSync('stat', ['-c', '%s', join(dir, 'layer.tar')], { encoding: 'utf8' }));
    const gzSize = Number(
      execFileSync('stat', ['-c', '%s', join(dir, 'layer.tar.gz')], { encoding: 'utf8' }),
    );
    expect(c.uncompressed).toBe(tarSize);
    expect(c.compressed).toBe(gzSize);
    expect(c.bytes['package files']).toBe(3000);
    expect(c.bytes['dpkg db']).toBe(
      Buffer.byteLength('Package: tool\nInstalled-Size: 3\n\nPackage: other\nInstalled-Size: 100\n'),
    );
    expect(c.bytes['apt cache']).toBe(500);
    expect(c.bytes.logs).toBe(3);
    expect(c.bytes.whiteouts).toBe(1);
    expect(c.upgradedInstalledSize).toBe(3 * 1024);
    expect(c.unwanted.sort()).toEqual(['var/cache/apt/archives/tool_1_amd64.deb', 'var/log/apt/term.log']);
  });

  it('fails on a file that is not gzip', async () => {
    await expect(analyzeLayerFile(join(dir, 'layer.tar'))).rejects.toThrow(/incorrect header check/);
  });
});
