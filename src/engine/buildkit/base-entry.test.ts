import { describe, expect, it } from 'vitest';
import { baseEntry } from './root.js';

// fsutil's Stat.mode is Go's os.FileMode: type bits high (dir = 1 << 31), setuid/setgid/sticky at 23/22/20
describe("fsutil's Go file modes as tar modes", () => {
  it('a dir 0755, /tmp (sticky 1777), a setuid file, a plain file', () => {
    const st = (path: string, mode: number) => ({ path, mode, uid: 0, gid: 0, size: 0, linkname: '' });
    expect(baseEntry(st('etc', 2 ** 31 + 0o755))).toEqual({
      name: 'etc',
      dir: true,
      mode: 0o755,
      uid: 0,
      gid: 0,
    });
    expect(baseEntry(st('tmp', 2 ** 31 + 2 ** 20 + 0o777))).toMatchObject({ dir: true, mode: 0o1777 });
    expect(baseEntry(st('su', 2 ** 23 + 0o755))).toMatchObject({ dir: false, mode: 0o4755 });
    expect(baseEntry(st('sgid', 2 ** 22 + 0o2755 - 0o2000))).toMatchObject({ mode: 0o2755 });
    expect(baseEntry({ path: 'f', mode: 0o644, size: 1, linkname: '' })).toEqual({
      name: 'f',
      dir: false,
      mode: 0o644,
      uid: 0,
      gid: 0,
    });
  });
});
