import { describe, expect, it } from 'vitest';
import { diffSnapshots, type Snapshot, type SnapshotEntry } from './snapshot.js';

let ino = 100;
function e(type: SnapshotEntry['type'], over: Partial<SnapshotEntry> = {}): SnapshotEntry {
  return {
    type,
    mode: 0o755,
    uid: 0,
    gid: 0,
    size: 0,
    mtimeNs: 1n,
    ctimeNs: 1n,
    ino: ino++,
    rdev: 0,
    ...over,
  };
}

function snap(entries: [string, SnapshotEntry][]): Snapshot {
  return new Map(entries);
}

describe('diffSnapshots', () => {
  const etc = e('dir');
  const passwd = e('file');
  const shadow = e('file');
  const cache = e('dir');
  const cacheA = e('file');
  const cacheSub = e('dir');
  const cacheSubB = e('file');
  const gone = e('dir');
  const goneX = e('file');
  const before = snap([
    ['etc', etc],
    ['etc/passwd', passwd],
    ['etc/shadow', shadow],
    ['var', e('dir')],
    ['var/cache', cache],
    ['var/cache/a', cacheA],
    ['var/cache/sub', cacheSub],
    ['var/cache/sub/b', cacheSubB],
    ['gone', gone],
    ['gone/x', goneX],
    ['f2d', e('file')],
  ]);

  it('finds changes, additions, deletions and replaced directories', () => {
    const after = snap([
      ['etc', { ...etc, mtimeNs: 2n }],
      ['etc/passwd', { ...passwd, size: 9, mtimeNs: 2n }],
      ['etc/new', e('file')],
      ['var', before.get('var') as SnapshotEntry],
      ['var/cache', e('dir')], // rm -rf + mkdir: new inode
      ['var/cache/a2', e('file')],
      ['f2d', e('dir')],
      ['f2d/in', e('file')],
    ]);
    const plan = diffSnapshots(before, after);
    expect(plan.entries).toEqual([
      'etc',
      'etc/new',
      'etc/passwd',
      'f2d',
      'f2d/in',
      'var',
      'var/cache',
      'var/cache/a2',
    ]);
    expect(plan.whiteouts).toEqual(['etc/shadow', 'gone']);
    expect([...plan.opaque]).toEqual(['var/cache']);
  });

  it('sees metadata-only changes (chmod, setcap via ctime) and symlink retargets', () => {
    const link = e('symlink', { linkTarget: 'a' });
    const b = snap([
      ['x', passwd],
      ['y', shadow],
      ['l', link],
    ]);
    const a = snap([
      ['x', { ...passwd, mode: 0o4755 }],
      ['y', { ...shadow, ctimeNs: 5n }],
      ['l', { ...link, linkTarget: 'b' }],
    ]);
    expect(diffSnapshots(b, a).entries).toEqual(['l', 'x', 'y']);
    expect(diffSnapshots(b, b)).toEqual({ entries: [], whiteouts: [], opaque: new Set() });
  });
});
