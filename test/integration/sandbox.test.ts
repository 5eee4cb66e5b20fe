import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageRoot } from '../../src/engine/native/index.js';
import { openDebianRoot } from '../helpers/image-root.js';

/**
 * What a command of the native engine sees of the machine (issue 17 item 8), checked from inside a real
 * Debian image root opened the way the patch flow opens it: /dev holds only null, zero, full, random,
 * urandom, tty (plus the private devpts's ptmx), no host mount is visible, host processes are not either.
 */

let work: string;
let root: ImageRoot;

async function sh(script: string): Promise<string> {
  const r = await root.session.run(['/bin/sh', '-c', script]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-sandbox-'));
  root = await openDebianRoot(work);
}, 900_000);

afterAll(async () => {
  await root?.session.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the native sandbox, seen from inside', () => {
  it('/dev: the six device nodes, the private pts/ptmx, and symlinks into /proc/self/fd', async () => {
    // every device node under /dev (stat, not readdir's d_type: the nodes are bind mounts over placeholders)
    const list =
      'find /dev | while read -r f; do [ ! -L "$f" ] && { [ -c "$f" ] || [ -b "$f" ]; } && echo "$f"; done';
    const nodes = (await sh(`${list} | sort`)).trim().split('\n');
    // /dev/pts is a new devpts instance: it holds its ptmx only, no host terminal
    expect(nodes).toEqual([
      '/dev/full',
      '/dev/null',
      '/dev/pts/ptmx',
      '/dev/random',
      '/dev/tty',
      '/dev/urandom',
      '/dev/zero',
    ]);
    expect((await sh('ls -A /dev/pts')).trim()).toBe('ptmx');
    const all = (await sh('ls -A /dev')).trim().split('\n').sort();
    expect(all).toEqual(
      ['full', 'null', 'random', 'tty', 'urandom', 'zero']
        .concat(['fd', 'ptmx', 'pts', 'shm', 'stderr', 'stdin', 'stdout'])
        .sort(),
    );
    expect((await sh('readlink /dev/fd /dev/stdin /dev/ptmx')).trim().split('\n')).toEqual([
      '/proc/self/fd',
      '/proc/self/fd/0',
      'pts/ptmx',
    ]);
    expect(await sh('ls -A /dev/shm')).toBe('');
    // the nodes work: read zero, write null, full says ENOSPC
    expect(await sh('head -c 4 /dev/zero | od -An -tx1 | tr -d " \\n"; echo x > /dev/null')).toBe('00000000');
    const full = await root.session.run(['/bin/sh', '-c', 'dd if=/dev/zero of=/dev/full bs=1 count=1']);
    expect(full.code).not.toBe(0);
    expect(full.stderr).toMatch(/No space left on device/);
  });

  it('mounts: only the image root and its run-time mounts; no host mount is visible', async () => {
    const mountinfo = await sh('cat /proc/self/mountinfo');
    const points = mountinfo
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .sort();
    const expected = [
      '/',
      '/dev',
      ...['full', 'null', 'random', 'tty', 'urandom', 'zero'].map((d) => `/dev/${d}`),
      '/dev/pts',
      '/etc/resolv.conf',
      '/proc', // the sandbox's
      '/proc', // the command's own, over it (a pid namespace per command)
      '/run',
      '/tmp',
      '/var/tmp',
    ].sort();
    expect(points).toEqual(expected);
    // the root is the overlay of the image layers, nothing of the host's root file system
    const rootLine = mountinfo.split('\n').find((l) => l.split(' ')[4] === '/') ?? '';
    expect(rootLine).toMatch(/ - overlay overlay /);
    // both /proc mounts: no setuid, no devices, no exec
    for (const l of mountinfo.split('\n').filter((l) => l.split(' ')[4] === '/proc')) {
      expect(l.split(' ')[5]).toMatch(/nosuid,nodev,noexec/);
    }
    // the host's resolv.conf is bound read-only, and it is the only host file shown
    const resolv = mountinfo.split('\n').find((l) => l.split(' ')[4] === '/etc/resolv.conf') ?? '';
    expect(resolv.split(' ')[5]).toMatch(/^ro\b/);
    // a process in the sandbox cannot reach the host's root through /proc/<pid>/root
    const hostTop = (await readdir('/')).sort();
    const imageTop = (await sh('ls -A /')).trim().split('\n').sort();
    for (const pid of (await sh('ls /proc | grep -E "^[0-9]+$" || true')).trim().split('\n')) {
      const r = await root.session.run(['/bin/sh', '-c', `ls -A /proc/${pid}/root 2>/dev/null | sort`]);
      if (r.code !== 0 || r.stdout === '') continue; // the process ended meanwhile
      const seen = r.stdout.trim().split('\n');
      expect({ pid, seen }).not.toEqual({ pid, seen: hostTop });
      expect({ pid, seen }).toEqual({ pid, seen: imageTop });
    }
  });

  it('processes: only the sandbox itself; no host process is visible', async () => {
    const out = await sh('for p in /proc/[0-9]*; do echo "${p#/proc/} $(tr "\\0" " " < $p/cmdline)"; done');
    const procs = out.trim().split('\n');
    // the command is PID 1 of its own pid namespace: this shell and the processes it started, nothing else
    expect(procs.length).toBeLessThanOrEqual(3);
    expect(procs.find((l) => l.startsWith('1 '))).toMatch(/^1 \/bin\/sh -c /);
    for (const line of procs) expect(line).not.toMatch(/node|vitest|docker-registry|systemd|sshd|unshare/);
    expect(out).not.toContain(process.argv[1] ?? '\0');
  });
});
