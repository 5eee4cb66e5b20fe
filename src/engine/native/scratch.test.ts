import { describe, expect, it } from 'vitest';
import { cgroupHeadroom, chooseScratch, scratchMode, type ScratchFacts } from './scratch.js';

const MiB = 1024 * 1024;
const roomy: ScratchFacts = {
  mode: 'auto',
  tmpfs: true,
  free: 8192 * MiB,
  memAvailable: 8192 * MiB,
  cgroupHeadroom: undefined,
  userns: false,
  need: 300 * MiB,
};

describe('chooseScratch', () => {
  it('puts the upper dir in memory when the tmpfs, the machine and the cgroup each have twice the need', () => {
    expect(chooseScratch(roomy)).toEqual({ inMemory: true, why: '8192 MiB free, 600 MiB wanted' });
    expect(chooseScratch({ ...roomy, cgroupHeadroom: 600 * MiB }).inMemory).toBe(true);
  });

  it.each([
    [{ tmpfs: false }, 'no tmpfs'],
    [{ userns: true }, 'rootless'],
    [{ free: 599 * MiB }, 'tmpfs free 599 MiB < 600 MiB'],
    [{ memAvailable: 500 * MiB }, 'memory available 500 MiB < 600 MiB'],
    [{ cgroupHeadroom: 100 * MiB }, 'cgroup memory headroom 100 MiB < 600 MiB'],
    [{ mode: 'disk' as const }, 'COPA_SCRATCH=disk'],
  ])('keeps it on disk with %o (%s)', (change, why) => {
    expect(chooseScratch({ ...roomy, ...change })).toEqual({ inMemory: false, why });
  });

  it('COPA_SCRATCH=memory forces memory, even without room', () => {
    expect(chooseScratch({ ...roomy, mode: 'memory', tmpfs: false, free: 0 }).inMemory).toBe(true);
  });
});

describe('scratchMode', () => {
  it('reads COPA_SCRATCH: auto by default, memory, disk; anything else is a usage error', () => {
    expect(scratchMode({})).toBe('auto');
    expect(scratchMode({ COPA_SCRATCH: ' ' })).toBe('auto');
    expect(scratchMode({ COPA_SCRATCH: 'disk' })).toBe('disk');
    expect(scratchMode({ COPA_SCRATCH: 'memory' })).toBe('memory');
    expect(() => scratchMode({ COPA_SCRATCH: 'ram' })).toThrow(/COPA_SCRATCH: expected auto, memory or disk/);
  });
});

describe('cgroupHeadroom (a fake /proc and /sys: the limits cannot be set on this machine)', () => {
  const reader =
    (files: Record<string, string>) =>
    (p: string): Promise<string> =>
      p in files ? Promise.resolve(files[p] as string) : Promise.reject(new Error(`ENOENT ${p}`));

  it('cgroup v2: the least room of the cgroup and its ancestors', async () => {
    const read = reader({
      '/proc/self/cgroup': '0::/kubepods/pod1/ctr\n',
      '/sys/fs/cgroup/kubepods/pod1/ctr/memory.max': 'max\n',
      '/sys/fs/cgroup/kubepods/pod1/ctr/memory.current': '100\n',
      '/sys/fs/cgroup/kubepods/pod1/memory.max': '1000\n',
      '/sys/fs/cgroup/kubepods/pod1/memory.current': '400\n',
    });
    expect(await cgroupHeadroom(read)).toBe(600);
  });

  it('cgroup v1 (memory controller line): its limit; "no limit" (near 2^63) and no cgroup are undefined', async () => {
    const v1 = (limit: string) =>
      reader({
        '/proc/self/cgroup': '9:pids:/\n4:memory:/docker/abc\n0::/\n',
        '/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes': `${limit}\n`,
        '/sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes': '300\n',
      });
    expect(await cgroupHeadroom(v1('2000'))).toBe(1700);
    expect(await cgroupHeadroom(v1('9223372036854771712'))).toBeUndefined();
    expect(await cgroupHeadroom(reader({}))).toBeUndefined();
  });
});
