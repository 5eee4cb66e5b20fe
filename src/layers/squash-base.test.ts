import { lstat, mkdir, mkdtemp, readdir, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noChanges, type BaseLister, type SurvivorInfo } from './squash-base.js';

let base: string;

/** a lister over a real directory tree standing for the base image */
const lister: BaseLister = async (dir) => {
  const path = join(base, dir);
  const names = await readdir(path).catch(() => undefined);
  if (!names) return undefined;
  return Promise.all(
    names.map(async (name) => {
      const st = await lstat(join(path, name));
      return { name, dir: st.isDirectory(), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    }),
  );
};

const dir = (mode = 0o755, uid = 0): SurvivorInfo => ({ layer: 0, kind: 'dir', mode, uid, gid: 0 });
const file = (layer = 0): SurvivorInfo => ({ layer, kind: 'other', mode: 0o644, uid: 0, gid: 0 });
const whiteout = (layer = 0): SurvivorInfo => ({ layer, kind: 'whiteout', mode: 0, uid: 0, gid: 0 });

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'copa-squash-base-'));
  await mkdir(join(base, 'var/log'), { recursive: true });
  await mkdir(join(base, 'etc/ssl'), { recursive: true });
  await chmod(join(base, 'var'), 0o755);
  await chmod(join(base, 'var/log'), 0o755);
  await chmod(join(base, 'etc'), 0o755);
  await chmod(join(base, 'etc/ssl'), 0o755);
  await writeFile(join(base, 'etc/ssl/old.pem'), 'x');
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('leaving out what changes nothing in the base', () => {
  it('a whiteout of a path the base never had goes, one of a base file stays', async () => {
    const seen = new Map<string, SurvivorInfo>([
      ['etc', dir()],
      ['etc/ssl', dir()],
      ['etc/ssl/.wh.new.pem.dpkg-new', whiteout()],
      ['etc/ssl/.wh.old.pem', whiteout()],
    ]);
    expect(await noChanges(seen, lister)).toEqual(['etc/ssl/.wh.new.pem.dpkg-new']);
  });

  it('a directory left empty goes with its parents when mode and owner equal the base', async () => {
    const seen = new Map<string, SurvivorInfo>([
      ['var', dir()],
      ['var/log', dir()],
      ['etc', dir()],
      ['etc/ssl', dir()],
      ['etc/ssl/.wh.gone.dpkg-new', whiteout()],
    ]);
    expect((await noChanges(seen, lister)).sort()).toEqual(
      ['etc', 'etc/ssl', 'etc/ssl/.wh.gone.dpkg-new', 'var', 'var/log'].sort(),
    );
  });

  it('stays: a dir with a real entry below it, a dir whose mode or owner changed, a dir the base lacks', async () => {
    const seen = new Map<string, SurvivorInfo>([
      ['var', dir()],
      ['var/log', dir(0o700)],
      ['etc', dir(0o755, 1000)],
      ['usr', dir()],
      ['usr/new', dir()],
      ['usr/new/file', file()],
      ['opt', dir()],
    ]);
    expect(await noChanges(seen, lister)).toEqual([]);
  });
});
