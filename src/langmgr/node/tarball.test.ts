import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { editLockfile, lockNames } from './lockfile.js';
import { BadTarball, binTargets, inspectTarball } from './tarball.js';

type E = {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  body?: string;
  mode?: number;
  linkname?: string;
};

async function tgz(entries: E[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  for (const e of entries) {
    const { body, ...header } = e;
    pack.entry({ ...header, mode: e.mode ?? 0o644 }, body ?? '');
  }
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

const manifest = {
  name: 'package/package.json',
  body: JSON.stringify({ name: 'x', version: '1.0.1', dependencies: { y: '^1.0.0' } }),
};

describe('tarball check', () => {
  it('reads a plain npm tarball', async () => {
    const p = await inspectTarball(await tgz([manifest, { name: 'package/lib/a.js', body: '1' }]));
    expect(p).toMatchObject({
      top: 'package',
      name: 'x',
      version: '1.0.1',
      dependencies: { y: '^1.0.0' },
      entries: 2,
    });
  });
  it.each<[string, E]>([
    ['absolute', { name: '/etc/passwd' }],
    ['dot-dot', { name: 'package/../../etc/x' }],
    ['symlink', { name: 'package/l', type: 'symlink', linkname: '/etc/shadow' }],
    ['hardlink', { name: 'package/h', type: 'link', linkname: 'package/package.json' }],
    ['outside package/', { name: 'other/x.js' }],
    ['setuid', { name: 'package/bin', mode: 0o4755 }],
  ])('refuses %s entries', async (_, bad) => {
    await expect(inspectTarball(await tgz([manifest, bad]))).rejects.toBeInstanceOf(BadTarball);
  });
  it('refuses non-gzip data and a missing package.json', async () => {
    await expect(inspectTarball(Buffer.from('nope'))).rejects.toBeInstanceOf(BadTarball);
    await expect(inspectTarball(await tgz([{ name: 'package/a.js' }]))).rejects.toThrow(/package.json/);
  });
});

describe('bin targets', () => {
  it('string or map, ./ stripped, unsafe ones dropped', () => {
    expect(binTargets('./bin/semver.js')).toEqual(['bin/semver.js']);
    expect(binTargets({ a: 'cli.js', b: './cli.js', c: '../../etc/passwd', d: '/bin/sh', e: 3 })).toEqual([
      'cli.js',
    ]);
    expect(binTargets(undefined)).toEqual([]);
  });
});

describe('lock files', () => {
  const edit = {
    rel: 'node_modules/a/node_modules/json5',
    from: '1.0.1',
    to: '1.0.2',
    integrity: 'sha512-NEW',
    dependencies: { minimist: '^1.2.0' },
  };
  it('edits lockfileVersion 2 (flat and nested), keeps the indent', () => {
    const lock = {
      lockfileVersion: 2,
      packages: {
        'node_modules/a/node_modules/json5': {
          version: '1.0.1',
          resolved: 'https://r.example/json5/-/json5-1.0.1.tgz',
          integrity: 'sha512-OLD',
          dependencies: { minimist: '^1.2.0' },
        },
      },
      dependencies: {
        a: {
          version: '1.0.0',
          dependencies: { json5: { version: '1.0.1', resolved: 'x', integrity: 'sha512-OLD', requires: {} } },
        },
      },
    };
    const out = editLockfile(JSON.stringify(lock, null, 2) + '\n', [edit]);
    expect(out?.endsWith('}\n')).toBe(true);
    const j = JSON.parse(out ?? '{}') as typeof lock;
    expect(j.packages['node_modules/a/node_modules/json5']).toEqual({
      version: '1.0.2',
      resolved: 'https://r.example/json5/-/json5-1.0.2.tgz',
      integrity: 'sha512-NEW',
      dependencies: { minimist: '^1.2.0' },
    });
    expect(j.dependencies.a.dependencies.json5).toEqual({
      version: '1.0.2',
      integrity: 'sha512-NEW',
      requires: { minimist: '^1.2.0' },
    });
    expect(editLockfile('{\n\t"packages": {}\n}', [edit])).toBeUndefined();
    expect(editLockfile('not json', [edit])).toBeUndefined();
  });
  it('splits lock paths into names', () => {
    expect(lockNames('node_modules/a/node_modules/@s/b')).toEqual(['a', '@s/b']);
    expect(lockNames('lib/x')).toBeUndefined();
  });
});
