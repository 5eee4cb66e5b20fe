import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../../log.js';
import { processAlive } from '../../fs/pid.js';

const PREFIX = 'copa-run-';

/**
 * A per-run scratch dir `copa-run-<pid>-<time><random>` under `root`. Mounts never outlive the sandbox process
 * (they live in its private namespace), so a crashed run leaves only such a dir: the next run removes the
 * ones whose process is gone.
 */
export async function createWorkDir(root: string, logger: Logger): Promise<string> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  for (const name of await readdir(root)) {
    const m = /^copa-run-(\d+)-/.exec(name);
    if (!m?.[1] || processAlive(Number(m[1]))) continue;
    logger.debug(`removing leftover work dir ${name} of a run that did not finish`);
    await rm(join(root, name), { recursive: true, force: true });
  }
  // unique within the process too: bulk runs open several at once
  const dir = join(
    root,
    `${PREFIX}${process.pid}-${Date.now().toString(36)}${randomBytes(3).toString('hex')}`,
  );
  await mkdir(dir, { mode: 0o700 });
  return dir;
}

/**
 * Keep a work dir (--debug): renamed `copa-debug-<UTC time>-<random>`, a name no clean-up of leftover
 * dirs matches, so it stays until the user removes it.
 */
export async function keepWorkDir(dir: string): Promise<string> {
  if (!basename(dir).startsWith(PREFIX)) return dir;
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const kept = join(dirname(dir), `copa-debug-${stamp}-${randomBytes(3).toString('hex')}`);
  await rename(dir, kept);
  return kept;
}
