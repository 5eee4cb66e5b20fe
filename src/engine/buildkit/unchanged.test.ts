import { spawnSync } from 'node:child_process';
import { cpSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keepUnchangedOut } from './unchanged.js';

// The script runs the real /bin/sh, find, md5sum, comm and touch of this machine over two trees, as it
// runs them inside a BuildKit exec over the image root and the base image's mount.

const OLD = 1_600_000_000;
let dir: string;
let base: string;
let root: string;

const mtime = (p: string): number => lstatSync(join(root, p)).mtimeMs / 1000;

/** run `script` (sh) in `root` through the wrapper; returns its exit code */
function run(script: string): number {
  const argv = keepUnchangedOut(['sh', '-c', script], root, base, join(dir, 'scratch'));
  const r = spawnSync(argv[0] ?? '', argv.slice(1), { cwd: root, encoding: 'utf8' });
  return r.status ?? -1;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'copa-unchanged-'));
  base = join(dir, 'base');
  root = join(dir, 'root');
  mkdirSync(join(base, 'usr/lib'), { recursive: true });
  mkdirSync(join(base, 'etc'), { recursive: true });
  for (const [name, text] of Object.entries({
    'usr/lib/same': 'same bytes',
    'usr/lib/changed': 'old bytes',
    'usr/lib/with space': 'spaced',
    'usr/lib/fraction': 'fraction',
    'etc/hosts': 'runtime',
  })) {
    writeFileSync(join(base, name), text);
    utimesSync(join(base, name), OLD, OLD);
  }
  utimesSync(join(base, 'usr/lib/fraction'), OLD + 0.5, OLD + 0.5);
  symlinkSync('same', join(base, 'usr/lib/link-same'));
  symlinkSync('same', join(base, 'usr/lib/link-moved'));
  cpSync(base, root, { recursive: true, verbatimSymlinks: true });
  spawnSync('touch', ['-h', '-d', `@${OLD}`, join(base, 'usr/lib/link-same'), join(base, 'usr/lib/link-moved')]);
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** what dpkg does on an upgrade: every file written anew with the new package's mtime */
const REWRITE = [
  'cd usr/lib',
  'for f in same changed "with space" fraction; do cp "$f" t && mv t "$f"; done',
  'printf "new bytes" > changed',
  'printf x > added',
  'ln -sfn same link-same && ln -sfn changed link-moved',
  "printf 'nl' > \"$(printf 'a\\nb')\"",
  'cp ../../etc/hosts t && mv t ../../etc/hosts',
  'touch -h -d @1700000000 same changed "with space" fraction link-same link-moved ../../etc/hosts',
].join('; ');

describe('keepUnchangedOut (real sh and coreutils)', () => {
  it('puts the base mtime back on files and links rewritten with the same content, and nothing else', () => {
    expect(run(REWRITE)).toBe(0);
    expect(mtime('usr/lib/same')).toBe(OLD);
    expect(mtime('usr/lib/with space')).toBe(OLD);
    expect(mtime('usr/lib/link-same')).toBe(OLD);
    // different bytes, a different link target, a base mtime with a sub-second part, a new file
    expect(mtime('usr/lib/changed')).toBe(1_700_000_000);
    expect(mtime('usr/lib/link-moved')).toBe(1_700_000_000);
    expect(mtime('usr/lib/fraction')).toBe(1_700_000_000);
    expect(mtime('usr/lib/added')).toBeGreaterThan(1_700_000_000);
    // the files the container runtime binds in are never touched
    expect(mtime('etc/hosts')).toBe(1_700_000_000);
  });

  it("keeps the command's exit code and touches nothing when it failed", () => {
    expect(run(`${REWRITE}; exit 7`)).toBe(7);
    expect(mtime('usr/lib/same')).toBe(1_700_000_000);
  });

  it('runs the command unchanged when the base mount is missing, and leaves no scratch files', () => {
    rmSync(base, { recursive: true });
    expect(run(REWRITE)).toBe(0);
    expect(mtime('usr/lib/same')).toBe(1_700_000_000);
    expect(spawnSync('ls', ['-A', dir], { encoding: 'utf8' }).stdout.trim()).toBe('root');
  });
});
