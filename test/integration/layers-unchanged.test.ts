/**
 * Copy-ups that changed nothing stay out of the layer (root: overlayfs, whiteouts, trusted xattrs).
 * Two crafted layers are stacked in a private mount namespace; a shell rewrites files with their
 * own bytes (the way dpkg replaces an identical file, or a lock file opened for writing copies it
 * up), recreates a symlink with the same target, and makes real changes beside them. The layer
 * written with the lowerdirs given must carry only the real changes, and the lower layers plus it
 * must still give the merged view.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LayerCache } from '../../src/layers/cache.js';
import { decompress } from '../../src/layers/decompress.js';
import { extractLayer } from '../../src/layers/extract.js';
import { readTar } from '../../src/layers/tar-reader.js';
import { writeLayer } from '../../src/layers/writer.js';
import { makeTar, memoryLayer } from '../helpers/tar.js';

const CAP = Buffer.from('0100000280200000000000000000000000000000', 'hex');

const L1 = makeTar([
  { name: 'etc/', type: 'dir' },
  { name: 'etc/passwd', body: 'root:x:0:0\n' },
  { name: 'etc/group', body: 'root:x:0:\n' },
  { name: 'etc/shadow', body: 'root:*:1::::::\n', mode: 0o640, gid: 42 },
  { name: 'usr/', type: 'dir' },
  { name: 'usr/bin/', type: 'dir' },
  { name: 'usr/bin/tool', body: 'tool-v1', mode: 0o755, mtime: 1_500_000_000 },
  { name: 'usr/bin/tool-link', type: 'symlink', linkname: 'tool' },
  { name: 'lib/', type: 'dir' },
  { name: 'lib/hl1', body: 'hl' },
  { name: 'lib/hl2', type: 'link', linkname: 'lib/hl1' },
  { name: 'opt/', type: 'dir' },
  { name: 'opt/app/', type: 'dir', mode: 0o755 },
  { name: 'srv/', type: 'dir' },
  { name: 'srv/old', body: 'old\n' },
]);

const L2 = makeTar([
  { name: 'etc/', type: 'dir' },
  { name: 'etc/.wh.group' },
  { name: 'srv/', type: 'dir' },
  { name: 'srv/.wh..wh..opq' },
  { name: 'usr/', type: 'dir' },
  { name: 'usr/bin/', type: 'dir' },
  { name: 'usr/bin/ping', body: 'ping', mode: 0o755, pax: { 'SCHILY.xattr.security.capability': CAP } },
  { name: 'usr/bin/arping', body: 'arping', mode: 0o755, pax: { 'SCHILY.xattr.security.capability': CAP } },
]);

const CHANGES = `
  same() { cat "$1" > /tmp/copy.$$; cat /tmp/copy.$$ > "$1"; rm /tmp/copy.$$; }
  same usr/bin/tool
  touch -m -d @1700000000 usr/bin/tool
  : >> usr/bin/ping
  same usr/bin/arping
  : >> etc/passwd
  ln -sfn tool usr/bin/tool-link
  same lib/hl1
  chmod 600 etc/shadow
  printf 'root:x:0:\\n' > etc/group
  printf 'old\\n' > srv/old
  chmod 700 opt/app
  echo new > etc/newfile
`;

const LIST = `cd "$1" && find . -mindepth 1 ! -type d -printf '%y|%m|%U|%G|%p|%l\\n' -o -type d -printf '%y|%m|%U|%G|%p\\n' | sort; find . -type f -exec sha256sum {} + | sort`;

let base: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'copa-unchanged-'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function entryNames(file: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of readTar(decompress(createReadStream(file)))) names.push(e.header.name);
  return names;
}

describe('layer writer: unchanged copy-ups', () => {
  it('leaves out what overlayfs copied up without a change, keeps every real change', async () => {
    const cache = new LayerCache({ dir: join(base, 'cache') });
    const lower1 = await cache.ensure(memoryLayer(L1));
    const lower2 = await cache.ensure(memoryLayer(L2));
    const [upper, work, merged] = ['upper', 'work', 'merged'].map((d) => join(base, d)) as [
      string,
      string,
      string,
    ];
    for (const d of [upper, work, merged]) await mkdir(d);
    const script = `
      mount -t overlay overlay -o "lowerdir=$1:$2,upperdir=$3,workdir=$4,redirect_dir=off,metacopy=off,index=off" "$5"
      cd "$5"
      ${CHANGES}
      cd /
      ( set -- "$5"; ${LIST} ) > "$6"
      umount "$5"
    `;
    const mergedList = join(base, 'merged.list');
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
    // every one of those was copied up
    const copied = execFileSync('find', ['.', '-mindepth', '1'], { cwd: upper, encoding: 'utf8' });
    for (const p of [
      'usr/bin/tool',
      'usr/bin/ping',
      'usr/bin/arping',
      'etc/passwd',
      'usr/bin/tool-link',
      'lib/hl1',
    ]) {
      expect(copied).toContain(`./${p}\n`);
    }

    const plain = await writeLayer(upper, join(base, 'all.tar.gz'), { compression: 'gzip' });
    const lean = await writeLayer(upper, join(base, 'lean.tar.gz'), {
      compression: 'gzip',
      lowerdirs: [lower2, lower1],
    });
    expect(await entryNames(lean.path)).toEqual([
      'etc/',
      'etc/group',
      'etc/newfile',
      'etc/shadow',
      'opt/',
      'opt/app/',
      'srv/',
      'srv/old',
      // writing the same bytes dropped its file capability (the kernel clears it on write): a change
      'usr/',
      'usr/bin/',
      'usr/bin/arping',
    ]);
    expect(lean.uncompressedSize).toBeLessThan(plain.uncompressedSize);

    // lower layers + the lean layer = the merged view (times aside: an untouched file keeps its own)
    const applied = join(base, 'applied');
    for (const l of [L1, L2]) await extractLayer(Readable.from([l]), applied, { mode: 'apply' });
    await extractLayer(decompress(createReadStream(lean.path)), applied, { mode: 'apply' });
    const appliedList = execFileSync('sh', ['-e', '-c', LIST, 'sh', applied], { encoding: 'utf8' });
    expect(appliedList).toBe(execFileSync('cat', [mergedList], { encoding: 'utf8' }));
  });
});
