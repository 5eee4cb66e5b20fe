import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageRoot } from '../../src/engine/native/index.js';
import { MountQueue } from '../../src/engine/native/mounts.js';
import { openDebianRoot } from '../helpers/image-root.js';

/**
 * The sandbox's run-time mounts are done in batches (one `mount --fstab FILE --all` per batch): a root under a
 * path with a space and a tab (escaped in the fstab) gets every mount, a read-only bind is read-only, and a
 * failed batch names the mount that failed.
 */

let work: string;
let root: ImageRoot;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa mounts\t'));
  root = await openDebianRoot(work, 'a root');
}, 900_000);

afterAll(async () => {
  await root?.session.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('batched sandbox mounts', () => {
  it('a root under a path with whitespace gets all its mounts', async () => {
    const r = await root.session.run(['/bin/sh', '-c', 'cut -d" " -f5,9 /proc/self/mountinfo | sort']);
    expect(r.code).toBe(0);
    const mounts = r.stdout.trim().split('\n');
    for (const m of [
      '/proc proc',
      '/dev tmpfs',
      '/dev/null devtmpfs',
      '/dev/pts devpts',
      '/tmp tmpfs',
      '/run tmpfs',
      '/var/tmp tmpfs',
      '/etc/resolv.conf',
    ])
      expect(mounts.some((l) => l.startsWith(m))).toBe(true);
    const w = await root.session.run([
      '/bin/sh',
      '-c',
      'echo x > /tmp/f && cat /tmp/f && echo y > /dev/null',
    ]);
    expect(w).toMatchObject({ code: 0, stdout: 'x\n' });
  });

  it('a bind requested at run time: read-only with one mount, its target made inside the root', async () => {
    const src = join(work, 'src dir');
    await mkdir(src);
    await writeFile(join(src, 'hello'), 'hi\n');
    await root.session.bind({ source: src, target: '/run/copa test/x', kind: 'dir', readOnly: true });
    const r = await root.session.run([
      '/bin/sh',
      '-c',
      'cat "/run/copa test/x/hello"; touch "/run/copa test/x/new"',
    ]);
    expect(r.stdout).toBe('hi\n');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Read-only file system/);
  });

  it('a failed batch is one error naming each mount that failed; nothing is mounted', async () => {
    const dir = await mkdtemp(join(work, 'queue-'));
    const q = new MountQueue(dir);
    q.add({ source: 'tmpfs', target: join(dir, 'missing-1'), type: 'tmpfs', options: 'nosuid' });
    q.add({ source: 'tmpfs', target: join(dir, 'missing-2'), type: 'tmpfs', options: 'nosuid' });
    await expect(q.flush()).rejects.toThrow(
      /^mount: .*missing-1: mount point does not exist.*; mount: .*missing-2/,
    );
    // the queue is empty afterwards
    await q.flush();
  });
});
