import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { layerXattrs, xattrIndexPath } from './xattr-index.js';
import { readXattrsRecursive } from './xattr.js';

const HEX = 'ab'.repeat(32);
let cache: string;
let layer: string;

/** the real setfattr on a real file system (the tmp dir's) */
const setfattr = (path: string, name: string, value: string): void => {
  execFileSync('setfattr', ['-h', '-n', name, '-v', value, path]);
};

beforeEach(async () => {
  cache = await mkdtemp(join(tmpdir(), 'copa-xattr-index-'));
  layer = join(cache, 'layers', 'sha256', HEX);
  await mkdir(join(layer, 'etc', 'odd name\nwith newline'), { recursive: true });
  await mkdir(join(cache, 'layers', 'meta'), { recursive: true });
  await writeFile(join(layer, 'etc', 'plain'), 'x');
  await writeFile(join(layer, 'etc', 'marked'), 'y');
  setfattr(join(layer, 'etc', 'marked'), 'user.mime', 'text/plain');
  setfattr(join(layer, 'etc', 'odd name\nwith newline'), 'user.bin', '0sAAH/');
  setfattr(layer, 'user.root', 'r');
});

afterEach(async () => {
  await rm(cache, { recursive: true, force: true });
});

describe('the xattr index of a cache layer', () => {
  it('names the meta dir beside sha256/ for a cache layer, nothing for other dirs', () => {
    expect(xattrIndexPath(layer)).toBe(join(cache, 'layers', 'meta', `${HEX}.xattrs.json`));
    expect(xattrIndexPath(join(cache, 'layers', 'sha256'))).toBeUndefined();
    expect(xattrIndexPath('/tmp/upper')).toBeUndefined();
  });

  it('is written on first use with what getfattr reads, and later runs load it instead of the tree', async () => {
    const fromTree = await readXattrsRecursive(layer);
    const first = await layerXattrs(layer);
    expect(first).toEqual(fromTree);
    expect(first.get(join(layer, 'etc', 'odd name\nwith newline'))?.get('user.bin')).toEqual(
      Buffer.from([0, 1, 0xff]),
    );
    expect(first.get(layer)?.get('user.root')?.toString()).toBe('r');
    const index = xattrIndexPath(layer) as string;
    expect(existsSync(index)).toBe(true);
    // a change on disk is not seen again: the index answers (cache layers never change)
    setfattr(join(layer, 'etc', 'plain'), 'user.late', 'z');
    expect(await layerXattrs(layer)).toEqual(fromTree);
    // an unreadable index is replaced by a fresh read of the tree
    await writeFile(index, '{"version": 2}');
    const again = await layerXattrs(layer);
    expect(
      again
        .get(join(layer, 'etc', 'plain'))
        ?.get('user.late')
        ?.toString(),
    ).toBe('z');
    expect(JSON.parse(await readFile(index, 'utf8'))).toMatchObject({ version: 1 });
  });

  it('reads a directory that is not a cache layer every time and writes nothing', async () => {
    const other = join(cache, 'upper');
    await mkdir(other);
    setfattr(other, 'user.a', '1');
    expect((await layerXattrs(other)).get(other)?.get('user.a')?.toString()).toBe('1');
    setfattr(other, 'user.a', '2');
    expect((await layerXattrs(other)).get(other)?.get('user.a')?.toString()).toBe('2');
  });
});
