import { chown, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../log.js';
import { removeLeftoverRuns } from './leftovers.js';

let base: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'copa-leftovers-'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

// PID 2^22 + 1 is above Linux's pid_max limit: no process has it
const dead = 'copa-run-4194305';

describe('removeLeftoverRuns', () => {
  it('removes a dead run’s own dir; leaves a live run’s, another user’s, a symlink and other tags', async () => {
    const target = join(base, 'not-ours');
    await mkdir(target);
    await mkdir(join(base, `${dead}-ns1-aaa`, 'upper'), { recursive: true });
    await mkdir(join(base, `copa-run-${process.pid}-ns1-bbb`));
    await mkdir(join(base, `${dead}-ns1-foreign`));
    await chown(join(base, `${dead}-ns1-foreign`), 65534, 65534);
    await symlink(target, join(base, `${dead}-ns1-link`));
    await mkdir(join(base, `${dead}-ns2-other`));
    await removeLeftoverRuns(base, silentLogger, 'ns1');
    expect((await readdir(base)).sort()).toEqual(
      [
        `copa-run-${process.pid}-ns1-bbb`,
        `${dead}-ns1-foreign`,
        `${dead}-ns1-link`,
        `${dead}-ns2-other`,
        'not-ours',
      ].sort(),
    );
    // without a tag every dead run's own dir goes
    await removeLeftoverRuns(base, silentLogger);
    expect(await readdir(base)).not.toContain(`${dead}-ns2-other`);
  });
});
