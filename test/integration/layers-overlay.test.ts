/**
 * A real overlayfs round trip (root): two crafted layers go through the cache, are stacked as
 * lowerdirs in a private mount namespace, a shell makes every kind of change in the merged view,
 * and writeLayer turns the upperdir into a layer. GNU tar must read it (whiteouts, opaque marker,
 * setuid, hardlink, symlink, xattrs), and applying it on top of the two lower layers must give
 * exactly the merged view. The snapshot fallback must do the same on a plain directory.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LayerCache } from '../../src/layers/cache.js';
import { decompress } from '../../src/layers/decompress.js';
import { extractLayer } from '../../src/layers/extract.js';
import { snapshot, writeDiffLayer } from '../../src/layers/snapshot.js';
import { writeLayer } from '../../src/layers/writer.js';
import { makeTar, memoryLayer } from '../helpers/tar.js';

/** cap_net_raw+ep (vfs_cap_data v2), with a byte >= 0x80 */
const CAP_HEX = '0100000280200000000000000000000000000000';
const CAP = Buffer.from(CAP_HEX, 'hex');

const L1 = makeTar([
  { name: 'etc/', type: 'dir', mtime: 1_600_000_000 },
  { name: 'etc/passwd', body: 'root:x:0:0\n' },
  { name: 'etc/group', body: 'root:x:0:\n' },
  { name: 'etc/motd', body: 'hello\n' },
  { name: 'etc/shadow', body: 'root:*:1::::::\n', mode: 0o640, gid: 42 },
  { name: 'usr/', type: 'dir' },
  { name: 'usr/bin/', type: 'dir' },
  { name: 'usr/bin/tool', body: 'tool-v1', mode: 0o755 },
  { name: 'var/', type: 'dir' },
  { name: 'var/cache/', type: 'dir' },
  { name: 'var/cache/apt/', type: 'dir' },
  { name: 'var/cache/apt/a', body: 'a' },
  { name: 'var/cache/apt/sub/', type: 'dir' },
  { name: 'var/cache/apt/sub/c', body: 'c' },
  { name: 'opt/', type: 'dir' },
  { name: 'opt/app/', type: 'dir', mode: 0o750 },
  { name: 'opt/app/x', body: 'x' },
  { name: 'data/', type: 'dir' },
  { name: 'data/keep', body: 'keep' },
  { name: 'lib/', type: 'dir' },
  { name: 'lib/hl1', body: 'hl' },
  { name: 'lib/hl2', type: 'link', linkname: 'lib/hl1' },
  { name: 'srv/', type: 'dir' },
  { name: 'srv/old', body: 'old' },
  { name: 'tmp/', type: 'dir', mode: 0o1777 },
]);

const L2 = makeTar([
  { name: 'etc/', type: 'dir', mtime: 1_650_000_000 },
  { name: 'etc/passwd', body: 'root:x:0:0\nuser:x:1000:1000\n' },
  { name: 'etc/.wh.group' },
  { name: 'srv/', type: 'dir' },
  { name: 'srv/.wh..wh..opq' },
  { name: 'srv/new', body: 'new' },
  { name: 'usr/', type: 'dir' },
  { name: 'usr/bin/', type: 'dir' },
  { name: 'usr/bin/ping', body: 'ping', mode: 0o755, pax: { 'SCHILY.xattr.security.capability': CAP } },
]);

/** Every kind of change a package manager makes, run by sh in the merged (or plain) root. */
const CHANGES = `
  echo new > etc/newfile
  setfattr -n user.note -v hi etc/newfile
  chown 1000:1000 etc/newfile
  touch -m -d @1600000123 etc/newfile
  echo more >> etc/passwd
  rm data/keep
  rm -rf var/cache/apt
  mkdir var/cache/apt
  echo fresh > var/cache/apt/fresh
  chmod 4755 usr/bin/tool
  ln -s ../../etc/passwd usr/bin/pw-link
  echo n > data/n1
  ln data/n1 data/n2
  cp usr/bin/tool usr/bin/tool2
  setfattr -n security.capability -v 0x${CAP_HEX} usr/bin/tool2
  mv opt/app opt/app2
  rm -rf lib
  rm etc/motd
  mkdir etc/motd
  echo in > etc/motd/inner
  echo x >> srv/new
`;

/** A comparable description of a tree: types, modes, owners, link counts, sizes, mtimes, content, xattrs. */
const LIST = `
  cd "$1"
  find . -mindepth 1 -printf '%y|%m|%U|%G|%n|%s|%T@|%p|%l\\n' > "$2/list"
  find . -type f -exec sha256sum {} + > "$2/sums"
  getfattr -R -P -h -d -m - -e hex . > "$2/xattrs"
`;

async function readListing(dir: string): Promise<{ list: string[]; sums: string[]; xattrs: string[] }> {
  const lines = (f: string): Promise<string[]> =>
    readFile(join(dir, f), 'utf8').then((t) => t.split('\n').filter((l) => l !== ''));
  const list = (await lines('list')).map((l) => {
    const [type, mode, uid, gid, nlink, size, mtime, ...rest] = l.split('|');
    const dir = type === 'd';
    // directory link counts and sizes are file-system specific; layers carry whole seconds
    return [
      type,
      mode,
      uid,
      gid,
      dir ? '-' : nlink,
      dir ? '-' : size,
      Math.floor(Number(mtime)),
      ...rest,
    ].join('|');
  });
  const xattrs = (await readFile(join(dir, 'xattrs'), 'utf8'))
    .split('\n\n')
    .filter((b) => b.trim() !== '')
    .map((b) => b.trim().split('\n').sort().join('\n'));
  return { list: list.sort(), sums: (await lines('sums')).sort(), xattrs: xattrs.sort() };
}

async function listTree(root: string, out: string): Promise<ReturnType<typeof readListing>> {
  await mkdir(out, { recursive: true });
  execFileSync('sh', ['-e', '-c', LIST, 'sh', root, out]);
  return readListing(out);
}

async function applyAll(root: string, layers: (Buffer | string)[]): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const l of layers) {
    const stream = typeof l === 'string' ? decompress(createReadStream(l)) : Readable.from([l]);
    await extractLayer(stream, root, { mode: 'apply' });
  }
}

/** Names sorted component-wise by bytes (parents first); an opaque marker right after its directory. */
function expectEntryOrder(names: string[]): void {
  const parts = (n: string): string[] => n.replace(/\/$/, '').split('/');
  const cmp = (a: string, b: string): number => {
    const [pa, pb] = [parts(a), parts(b)];
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
      const c = Buffer.compare(Buffer.from(pa[i] as string), Buffer.from(pb[i] as string));
      if (c !== 0) return c;
    }
    return pa.length - pb.length;
  };
  const plain = names.filter((n) => !n.endsWith('/.wh..wh..opq'));
  expect(plain).toEqual([...plain].sort(cmp));
  names.forEach((n, i) => {
    if (n.endsWith('/.wh..wh..opq')) expect(names[i - 1]).toBe(n.slice(0, -'.wh..wh..opq'.length));
  });
}

let base: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'copa-overlay-'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('overlayfs upperdir -> layer', () => {
  it('writes a layer that GNU tar reads and that reproduces the merged view', async () => {
    const cache = new LayerCache({ dir: join(base, 'cache') });
    const lower1 = await cache.ensure(memoryLayer(L1));
    const lower2 = await cache.ensure(memoryLayer(L2));
    const [upper, work, merged, mergedList] = ['upper', 'work', 'merged', 'merged-list'].map((d) =>
      join(base, d),
    ) as [string, string, string, string];
    for (const d of [upper, work, merged, mergedList]) await mkdir(d);
    const script = `
      mount -t overlay overlay -o "lowerdir=$1:$2,upperdir=$3,workdir=$4,redirect_dir=off,metacopy=off,index=off" "$5"
      cd "$5"
      ${CHANGES}
      cd /
      set -- "$5" "$6"
      ${LIST}
      cd /
      umount "$1"
    `;
    execFileSync('unshare', [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-e',
      '-c',
      script,
      'sh',
      lower2,
      lower1,
      upper,
      work,
      merged,
      mergedList,
    ]);
    const mergedView = await readListing(mergedList);
    expect(mergedView.list.some((l) => l.includes('./usr/bin/ping'))).toBe(true);

    const out = join(base, 'layer.tar.gz');
    const written = await writeLayer(upper, out, { compression: 'gzip' });
    expect(written.compression).toBe('gzip');

    // GNU tar's view of the layer
    const tv = execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-tvvzf', out]).toString();
    const names = execFileSync('tar', ['-tzf', out]).toString().trim().split('\n');
    expect(names).toContain('data/.wh.keep');
    expect(names).toContain('.wh.lib');
    expect(names).toContain('opt/.wh.app');
    expect(names).toContain('etc/motd/'); // file -> dir: the dir entry replaces the file
    expect(names).not.toContain('etc/.wh.motd');
    expect(names.indexOf('var/cache/apt/.wh..wh..opq')).toBe(names.indexOf('var/cache/apt/') + 1);
    expect(names).not.toContain('etc/.wh.group'); // hidden by the lower layer already, not touched
    expect(tv).toMatch(/^-rwsr-xr-x {2}0\/0\s+7 .* usr\/bin\/tool$/m);
    expect(tv).toMatch(/^hrw-r--r-- {2}0\/0\s+0 .* data\/n2 link to data\/n1$/m);
    expect(tv).toMatch(/^lrwxrwxrwx {2}0\/0\s+0 .* usr\/bin\/pw-link -> \.\.\/\.\.\/etc\/passwd$/m);
    expect(tv).toMatch(/ usr\/bin\/tool2\n {2}x: 20 security\.capability\n/);
    expect(tv).toMatch(/^-rw-r--r--\* 1000\/1000\s+4 2020-09-13 \S+ etc\/newfile\n {2}x: 2 user\.note\n/m);
    expect(tv).not.toContain('trusted.overlay');
    expectEntryOrder(names);

    // GNU tar extracts the capability byte-exactly
    const gx = join(base, 'gnu-extract');
    await mkdir(gx);
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-xpzf', out, '-C', gx]);
    expect(
      execFileSync('getfattr', [
        '--absolute-names',
        '-n',
        'security.capability',
        '-e',
        'hex',
        join(gx, 'usr/bin/tool2'),
      ]).toString(),
    ).toContain(`security.capability=0x${CAP_HEX}`);

    // lower layers + our layer, applied, give the merged view
    const applied = join(base, 'applied');
    await applyAll(applied, [L1, L2, out]);
    const appliedView = await listTree(applied, join(base, 'applied-list'));
    expect(appliedView.list).toEqual(mergedView.list);
    expect(appliedView.sums).toEqual(mergedView.sums);
    expect(appliedView.xattrs).toEqual(mergedView.xattrs);

    // the same upperdir gives the same bytes
    const again = await writeLayer(upper, join(base, 'layer2.tar.gz'), { compression: 'gzip' });
    expect([again.digest, again.diffID]).toEqual([written.digest, written.diffID]);
  });

  it('the snapshot fallback writes an equivalent layer from a plain directory', async () => {
    const plain = join(base, 'plain');
    await applyAll(plain, [L1, L2]);
    const before = await snapshot(plain);
    execFileSync('sh', ['-e', '-c', `cd "$1"\n${CHANGES}`, 'sh', plain]);
    const out = join(base, 'diff.tar.gz');
    const written = await writeDiffLayer(plain, before, out, { compression: 'gzip' });
    const names = execFileSync('tar', ['-tzf', written.path]).toString().trim().split('\n');
    expect(names).toEqual(
      expect.arrayContaining(['data/.wh.keep', '.wh.lib', 'opt/.wh.app', 'opt/app2/x', 'usr/bin/tool']),
    );
    expect(names).not.toContain('etc/shadow'); // unchanged files stay out
    expectEntryOrder(names);
    const plainView = await listTree(plain, join(base, 'plain-list'));
    const applied = join(base, 'applied-diff');
    await applyAll(applied, [L1, L2, out]);
    const appliedView = await listTree(applied, join(base, 'applied-diff-list'));
    expect(appliedView.list).toEqual(plainView.list);
    expect(appliedView.sums).toEqual(plainView.sums);
    expect(appliedView.xattrs).toEqual(plainView.xattrs);
  });
});
