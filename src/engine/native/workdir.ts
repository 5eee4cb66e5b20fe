import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../../log.js';
import { removeLeftoverRuns } from './leftovers.js';
import { keepScratch, removeScratch } from './scratch.js';

const PREFIX = 'copa-run-';

/**
 * A per-run scratch dir `copa-run-<pid>-<time><random>` under `root`. Mounts never outlive the sandbox process
 * (they live in its private namespace), so a crashed run leaves only such a dir: the next run removes the
 * ones whose process is gone.
 */
export async function createWorkDir(root: string, logger: Logger): Promise<string> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  await removeLeftoverRuns(root, logger);
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
  await keepScratch(kept);
  return kept;
}

/** Remove a work dir, with its upper dir in memory if it had one. */
export async function removeWorkDir(dir: string): Promise<void> {
  await removeScratch(dir);
  await rm(dir, { recursive: true, force: true });
}
