/**
 * Hostile layer tars against extractLayer, in both modes, as root (chown, mknod, xattrs for real).
 * Each case runs in a fresh root beside a sentinel directory holding a file, a directory and a
 * symlink target: after every case nothing outside the root may have changed, and the result is
 * either contained (checked inside the root) or a clear UNSAFE_LAYER error.
 */
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopaError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { extractLayer, type ExtractMode } from '../../src/layers/extract.js';
import { outsideState } from '../helpers/outside-state.js';
import { makeTar, type TarSpec } from '../helpers/tar.js';

/** cap_net_raw+ep as vfs_cap_data v2: has bytes >= 0x80, which a UTF-8 round trip would break */
const CAP = Buffer.from('0100000200200000000000000000000000000000', 'hex');
CAP[4] = 0x80;

let base: string;
let sentinel: string;

function logger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { debug() {}, info() {}, warn: (m) => warnings.push(m), warnings };
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

type Check = RegExp | ((root: string, log: { warnings: string[] }) => Promise<void>);

interface Case {
  name: string;
  entries: (sentinel: string) => TarSpec[];
  /** RegExp: UNSAFE_LAYER error expected; function: contained, checks the root */
  overlay: Check;
  apply?: Check;
}

const cases: Case[] = [
  {
    name: '`..` traversal',
    entries: () => [{ name: '../sentinel/pwned', body: 'x' }],
    overlay: /entry "\.\.\/sentinel\/pwned": path escapes the layer root/,
  },
  {
    name: '`..` in the middle climbing out',
    entries: () => [{ name: 'a/b/../../../pwned', body: 'x' }],
    overlay: /path escapes the layer root/,
  },
  {
    name: 'absolute path naming the real sentinel dir is contained',
    entries: (s) => [{ name: `${s}/abs`, body: 'x' }],
    overlay: async (root) => {
      expect(await readFile(join(root, sentinel, 'abs'), 'utf8')).toBe('x');
    },
  },
  {
    name: 'symlink to the host, then a write through it',
    entries: (s) => [
      { name: 'ln', type: 'symlink', linkname: s },
      { name: 'ln/pwned', body: 'x' },
    ],
    overlay: /entry "ln\/pwned": parent "ln" is a symlink/,
    // apply resolves the link like a chroot: the absolute target is taken inside the root
    apply: async (root) => {
      expect(await readFile(join(root, sentinel, 'pwned'), 'utf8')).toBe('x');
    },
  },
  {
    name: 'relative symlink climbing out, then a file under it',
    entries: () => [
      { name: 'up', type: 'symlink', linkname: '../../../../../..' },
      { name: 'up/pwned', body: 'x' },
    ],
    overlay: /parent "up" is a symlink/,
    apply: async (root) => {
      expect(await readFile(join(root, 'pwned'), 'utf8')).toBe('x'); // `..` stops at the root
      expect((await lstat(join(root, 'up'))).isSymbolicLink()).toBe(true);
    },
  },
  {
    name: 'a symlink loop as a parent',
    entries: () => [
      { name: 'loop', type: 'symlink', linkname: 'loop2' },
      { name: 'loop2', type: 'symlink', linkname: '/loop' },
      { name: 'loop/x', body: 'x' },
    ],
    overlay: /parent "loop" is a symlink/,
    apply: /entry "loop\/x": too many levels of symbolic links/,
  },
  {
    name: 'hardlink to ../outside',
    entries: () => [{ name: 'h', type: 'link', linkname: '../sentinel/file' }],
    overlay: /entry "h": hardlink target "\.\.\/sentinel\/file": path escapes the layer root/,
  },
  {
    name: 'hardlink to an absolute host path',
    entries: (s) => [{ name: 'h', type: 'link', linkname: `${s}/file` }],
    overlay: /hardlink target ".*sentinel\/file" is not in the layer \(yet\)/,
  },
  {
    name: 'hardlink to a symlink pointing outside, then overwriting the link',
    entries: (s) => [
      { name: 's', type: 'symlink', linkname: `${s}/file` },
      { name: 'h', type: 'link', linkname: 's' },
      { name: 'h', body: 'overwrite' },
    ],
    overlay: async (root) => {
      expect(await readlink(join(root, 's'))).toBe(`${sentinel}/file`);
      expect(await readFile(join(root, 'h'), 'utf8')).toBe('overwrite');
      expect((await lstat(join(root, 'h'))).nlink).toBe(1);
    },
  },
  {
    name: 'hardlink through a symlinked parent',
    entries: () => [
      { name: 'up', type: 'symlink', linkname: '../..' },
      { name: 'h', type: 'link', linkname: 'up/sentinel/file' },
    ],
    overlay: /parent "up" is a symlink/,
    apply: /hardlink target "up\/sentinel\/file" is not in the layer/,
  },
  {
    name: 'hardlink to a directory',
    entries: () => [
      { name: 'd', type: 'dir' },
      { name: 'h', type: 'link', linkname: 'd' },
    ],
    overlay: /hardlink to a directory/,
  },
  {
    name: 'whiteout aimed outside',
    entries: () => [{ name: '../.wh.sentinel' }],
    overlay: /entry "\.\.\/\.wh\.sentinel": path escapes the layer root/,
  },
  {
    name: 'whiteout of `.` and `..`',
    entries: () => [{ name: 'x/.wh..' }],
    overlay: /entry "x\/\.wh\.\.": whiteout does not name a file/,
  },
  {
    name: 'whiteout named through a symlink to the host (apply deletes inside the root only)',
    entries: (s) => [
      { name: `${s}/file`, body: 'the copy inside the root' },
      { name: 'ln', type: 'symlink', linkname: s },
      { name: 'ln/.wh.file' },
    ],
    overlay: /parent "ln" is a symlink/,
    apply: async (root) => {
      expect(await exists(join(root, 'ln'))).toBe(true);
      expect(await exists(join(root, sentinel, 'file'))).toBe(false);
      expect(await exists(join(root, sentinel))).toBe(true);
    },
  },
  {
    name: 'device nodes and fifos are skipped',
    entries: () => [
      { name: 'dev/', type: 'dir' },
      { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/sda', type: 'block', devmajor: 8, devminor: 0 },
      { name: 'dev/zero0', type: 'char', devmajor: 0, devminor: 0 },
      { name: 'fifo', type: 'fifo' },
    ],
    overlay: async (root) => {
      expect(await readdir(join(root, 'dev'))).toEqual([]);
      expect(await exists(join(root, 'fifo'))).toBe(false);
    },
  },
  {
    name: 'duplicate entries: the later wins',
    entries: () => [
      { name: 'dup', body: 'one' },
      { name: 'dup', body: 'two', mode: 0o600 },
    ],
    overlay: async (root) => {
      expect(await readFile(join(root, 'dup'), 'utf8')).toBe('two');
      expect((await stat(join(root, 'dup'))).mode & 0o7777).toBe(0o600);
    },
  },
  {
    name: 'a directory entry never follows an existing symlink',
    entries: (s) => [
      { name: 'd', type: 'symlink', linkname: `${s}/dir` },
      { name: 'd', type: 'dir', mode: 0o700, uid: 1234 },
      { name: 'd/inside', body: 'x' },
    ],
    overlay: async (root) => {
      const st = await lstat(join(root, 'd'));
      expect(st.isDirectory()).toBe(true);
      expect([st.mode & 0o7777, st.uid]).toEqual([0o700, 1234]);
      expect(await readFile(join(root, 'd/inside'), 'utf8')).toBe('x');
    },
  },
  {
    name: 'a file replacing a directory',
    entries: () => [
      { name: 'x', type: 'dir' },
      { name: 'x/child', body: 'c' },
      { name: 'x', body: 'now a file' },
    ],
    overlay: async (root) => {
      expect(await readFile(join(root, 'x'), 'utf8')).toBe('now a file');
    },
  },
  {
    name: 'a file under a file',
    entries: () => [
      { name: 'f', body: 'x' },
      { name: 'f/x', body: 'y' },
    ],
    overlay: /entry "f\/x": parent "f" is not a directory/,
  },
  {
    name: 'a component longer than NAME_MAX',
    entries: () => [{ name: 'p', pax: { path: `${'n'.repeat(300)}/x` } }],
    overlay: /a path component is longer than 255 bytes/,
  },
  {
    name: 'a long but valid path (PAX) is contained',
    entries: () => [{ name: 'p', pax: { path: `${'a'.repeat(200)}/${'b'.repeat(250)}/f` }, body: 'deep' }],
    overlay: async (root) => {
      expect(await readFile(join(root, 'a'.repeat(200), 'b'.repeat(250), 'f'), 'utf8')).toBe('deep');
    },
  },
  {
    name: 'a NUL byte in a PAX path',
    entries: () => [{ name: 'p', pax: { path: 'etc/pass\0wd' } }],
    overlay: /name contains a NUL byte/,
  },
  {
    name: 'odd bytes: newline and tab are kept, non-UTF-8 is skipped with a warning',
    entries: () => [
      { name: 'we\nird\tname', body: 'odd' },
      { name: Buffer.from([0x62, 0x61, 0x64, 0xff]), body: 'bad' },
    ],
    overlay: async (root, log) => {
      expect(await readFile(join(root, 'we\nird\tname'), 'utf8')).toBe('odd');
      expect(await readdir(root)).toEqual(['we\nird\tname']);
      expect(log.warnings.join('\n')).toMatch(/not valid UTF-8/);
    },
  },
  {
    name: 'a non-directory entry for the root itself',
    entries: () => [{ name: './', type: 'symlink', linkname: '/' }],
    overlay: /entry "\.\/": entry would replace the layer root/,
  },
  {
    name: 'a layer-supplied trusted.overlay.opaque xattr is dropped; binary capabilities and setuid are kept',
    entries: () => [
      { name: 'o', type: 'dir', pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y' } },
      {
        name: 'o/ping',
        body: 'elf',
        mode: 0o4755,
        uid: 1000,
        gid: 1000,
        pax: { 'SCHILY.xattr.security.capability': CAP },
      },
    ],
    overlay: async (root) => {
      expect(execFileSync('getfattr', ['-d', '-m', '-', join(root, 'o')]).toString()).toBe('');
      const dump = execFileSync('getfattr', ['-n', 'security.capability', '-e', 'hex', join(root, 'o/ping')]);
      expect(dump.toString()).toContain(`security.capability=0x${CAP.toString('hex')}`);
      const st = await stat(join(root, 'o/ping'));
      expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o4755, 1000, 1000]);
    },
  },
];

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'copa-hostile-'));
  sentinel = join(base, 'sentinel');
  await mkdir(join(sentinel, 'dir'), { recursive: true, mode: 0o755 });
  await writeFile(join(sentinel, 'file'), 'precious');
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe.each<ExtractMode>(['overlay', 'apply'])('hostile layers, %s mode', (mode) => {
  it.each(cases)('$name', async (c) => {
    const before = await outsideState(base);
    const root = await mkdtemp(join(base, `root-${mode}-`));
    const log = logger();
    const expected = mode === 'apply' && c.apply !== undefined ? c.apply : c.overlay;
    const run = extractLayer(Readable.from([makeTar(c.entries(sentinel))]), root, {
      mode,
      logger: log,
      what: 'layer sha256:test',
    });
    if (expected instanceof RegExp) {
      const err = await run.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CopaError);
      expect((err as CopaError).code).toBe('UNSAFE_LAYER');
      expect((err as CopaError).message).toMatch(/^layer sha256:test entry /);
      expect((err as CopaError).message).toMatch(expected);
    } else {
      await run;
      await expected(root, log);
    }
    expect(await outsideState(base)).toEqual(before);
    expect(await readFile(join(sentinel, 'file'), 'utf8')).toBe('precious');
  });
});
