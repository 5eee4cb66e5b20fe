import { mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import { artifactKey, indexReportsByArtifact, MAX_REPORT_BYTES } from './reports.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'copa-bulk-reports-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(name: string, content: unknown): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('artifactKey', () => {
  it.each([
    ['nginx:1.2-patched', 'docker.io/library/nginx:1.2-patched'],
    ['docker.io/library/nginx:1.2-patched', 'docker.io/library/nginx:1.2-patched'],
    ['index.docker.io/library/nginx:1.2-patched', 'docker.io/library/nginx:1.2-patched'],
    ['nginx', 'docker.io/library/nginx:latest'],
    ['ghcr.io/myorg/redis:v8.2.1-patched', 'ghcr.io/myorg/redis:v8.2.1-patched'],
    ['127.0.0.1:5000/debian:12-patched-1', '127.0.0.1:5000/debian:12-patched-1'],
  ])('%s -> %s', (ref, key) => {
    expect(artifactKey(ref)).toBe(key);
  });
});

describe('indexReportsByArtifact', () => {
  it('indexes top-level JSON reports by normalised ArtifactName, whatever the file name', async () => {
    const a = await put('nginx-report.json', {
      SchemaVersion: 2,
      ArtifactName: 'nginx:1.25.3-patched',
      Results: [],
    });
    const b = await put('anything.json', { ArtifactName: 'ghcr.io/myorg/redis:v8.2.1-patched' });
    const c = await put('x.json', { artifactName: 'alpine:3.19-patched' });
    const { byArtifact, skipped } = await indexReportsByArtifact(dir);
    expect(skipped).toStrictEqual([]);
    expect(byArtifact).toStrictEqual(
      new Map([
        ['docker.io/library/nginx:1.25.3-patched', a],
        ['ghcr.io/myorg/redis:v8.2.1-patched', b],
        ['docker.io/library/alpine:3.19-patched', c],
      ]),
    );
    expect(byArtifact.get(artifactKey('docker.io/library/nginx:1.25.3-patched'))).toBe(a);
  });

  it('ignores other files and subdirectories, and reports unusable JSON files as skipped', async () => {
    await put('notes.txt', { ArtifactName: 'nginx:1' });
    await put('report.JSON', { ArtifactName: 'nginx:2' });
    await mkdir(path.join(dir, 'sub.json'));
    await mkdir(path.join(dir, 'nested'));
    await writeFile(path.join(dir, 'nested', 'deep.json'), JSON.stringify({ ArtifactName: 'nginx:3' }));
    const files = {
      broken: await put('broken.json', '{"ArtifactName": "nginx:4"'),
      array: await put('array.json', [{ ArtifactName: 'nginx:5' }]),
      missing: await put('missing.json', { SchemaVersion: 2 }),
      nulled: await put('nulled.json', { ArtifactName: null }),
      number: await put('number.json', { ArtifactName: 42 }),
      empty: await put('empty.json', { ArtifactName: '' }),
      badref: await put('badref.json', { ArtifactName: 'Not A Reference' }),
    };
    const { byArtifact, skipped } = await indexReportsByArtifact(dir);
    expect(byArtifact.size).toBe(0);
    const reasons = new Map(skipped.map((s) => [s.file, s.reason]));
    expect(reasons.get(files.broken)).toMatch(/^not valid JSON/);
    expect(reasons.get(files.array)).toBe('not a JSON object');
    expect(reasons.get(files.missing)).toBe('no ArtifactName field');
    expect(reasons.get(files.nulled)).toBe('no ArtifactName field');
    expect(reasons.get(files.number)).toMatch(/not a non-empty string/);
    expect(reasons.get(files.empty)).toMatch(/not a non-empty string/);
    expect(reasons.get(files.badref)).toMatch(/not an image reference/);
    expect(skipped).toHaveLength(7);
    expect(skipped.every((s) => !s.reason.includes('\n'))).toBe(true);
  });

  it('follows symlinks to files and skips dangling ones', async () => {
    const target = await put('real.json', { ArtifactName: 'nginx:1-patched' });
    await symlink(target, path.join(dir, 'link.json'));
    await symlink(path.join(dir, 'nowhere'), path.join(dir, 'dangling.json'));
    const { byArtifact, skipped } = await indexReportsByArtifact(dir);
    // link.json sorts before real.json, so real.json is the later report for the same image
    expect(byArtifact.get('docker.io/library/nginx:1-patched')).toBe(target);
    expect(skipped.map((s) => path.basename(s.file)).sort()).toStrictEqual(['dangling.json', 'link.json']);
  });

  it('lets the later file (by name) win when two reports name the same image', async () => {
    const first = await put('a.json', { ArtifactName: 'nginx:1-patched' });
    const second = await put('b.json', { ArtifactName: 'docker.io/library/nginx:1-patched' });
    const { byArtifact, skipped } = await indexReportsByArtifact(dir);
    expect(byArtifact.get('docker.io/library/nginx:1-patched')).toBe(second);
    expect(skipped).toStrictEqual([{ file: first, reason: expect.stringContaining('b.json') as unknown }]);
  });

  it('skips reports over 256 MiB without reading them', async () => {
    const big = await put('big.json', { ArtifactName: 'nginx:1-patched' });
    await truncate(big, MAX_REPORT_BYTES + 1); // sparse: cheap to create
    const { byArtifact, skipped } = await indexReportsByArtifact(dir);
    expect(byArtifact.size).toBe(0);
    expect(skipped).toStrictEqual([{ file: big, reason: expect.stringContaining('256 MiB') as unknown }]);
  });

  it('returns an empty index for an empty directory', async () => {
    expect(await indexReportsByArtifact(dir)).toStrictEqual({ byArtifact: new Map(), skipped: [] });
  });

  it.each([
    ['a missing directory', 'nope', 'no such directory'],
    ['a file', 'file.json', 'not a directory'],
  ])('rejects %s with a usage error', async (_what, name, why) => {
    await put('file.json', {});
    const p = indexReportsByArtifact(path.join(dir, name));
    await expect(p).rejects.toBeInstanceOf(CopaError);
    await expect(p).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining(why) as unknown,
    });
  });
});
