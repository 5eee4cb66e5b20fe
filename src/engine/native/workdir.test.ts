import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../log.js';
import { createWorkDir, keepWorkDir } from './workdir.js';

let base: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'copa-workdir-'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('work dirs', () => {
  it('a kept (--debug) dir survives later runs; a dead run’s dir does not', async () => {
    const debugRun = await createWorkDir(base, silentLogger);
    await writeFile(join(debugRun, 'layer.tar.gz'), 'x');
    const kept = await keepWorkDir(debugRun);
    expect(basename(kept)).toMatch(/^copa-debug-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    // a leftover of a process that is gone (PID 2^22 + 1 is above Linux's pid_max limit)
    await mkdir(join(base, 'copa-run-4194305-abc123'));
    const next = await createWorkDir(base, silentLogger);
    const names = await readdir(base);
    expect(names).toContain(basename(kept));
    expect(names).toContain(basename(next));
    expect(names).not.toContain('copa-run-4194305-abc123');
    expect(await readdir(kept)).toEqual(['layer.tar.gz']);
  });

  it('leaves a dir it did not create (another naming) where it is', async () => {
    const own = join(base, 'mine');
    await mkdir(own);
    expect(await keepWorkDir(own)).toBe(own);
  });
});
