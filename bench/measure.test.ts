import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measure, parseTimeOutput } from './measure.js';

describe('parseTimeOutput', () => {
  it('reads wall, user, sys and peak RSS (KiB -> MiB) from the bench-time line', () => {
    expect(parseTimeOutput('bench-time 12.34 5.50 1.25 204800\n')).toEqual({
      wallS: 12.34,
      userS: 5.5,
      sysS: 1.25,
      cpuS: 6.75,
      rssMiB: 200,
    });
  });
  it('skips the status line GNU time adds for a failed command', () => {
    expect(
      parseTimeOutput('Command exited with non-zero status 3\nbench-time 0.00 0.00 0.00 1552\n').rssMiB,
    ).toBe(1.52);
  });
  it('refuses anything else', () => {
    expect(() => parseTimeOutput('Command terminated by signal 9\n')).toThrow(/cannot read GNU time output/);
  });
});

describe('measure (real /usr/bin/time)', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'bench-measure-test-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('counts the CPU time of child processes and returns output and exit code', async () => {
    // a child that burns CPU in a grandchild: time sees it through the waited-for children's rusage
    const burn = 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done';
    const m = await measure(['sh', '-c', 'sh -c "$1"; echo out; echo err >&2; exit 3', 'sh', burn], {
      scratch,
    });
    expect(m.code).toBe(3);
    expect(m.stdout).toBe('out\n');
    expect(m.stderr).toBe('err\n');
    expect(m.sample.cpuS).toBeGreaterThan(0);
    expect(m.sample.rssMiB).toBeGreaterThan(0);
    expect(await readdir(scratch)).toEqual([]);
  });

  it('fails clearly when the command cannot start', async () => {
    await expect(measure(['/nonexistent/command'], { scratch })).resolves.toMatchObject({ code: 127 });
  });
});
