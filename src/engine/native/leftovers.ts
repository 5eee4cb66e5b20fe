import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive } from '../../fs/pid.js';
import type { Logger } from '../../log.js';

/**
 * Remove the `copa-run-<pid>-…` dirs under `root` whose process is gone (runs that did not finish). With
 * `tag`, only names that go on with `<tag>-` are looked at (the pid namespace they were made in).
 */
export async function removeLeftoverRuns(root: string, logger: Logger, tag?: string): Promise<void> {
  for (const name of await readdir(root).catch(() => [])) {
    const m = /^copa-run-(\d+)-(.*)$/.exec(name);
    if (!m?.[1] || (tag !== undefined && !m[2]?.startsWith(`${tag}-`))) continue;
    if (processAlive(Number(m[1]))) continue;
    // only a dir of ours (a shared tmpfs like /dev/shm lets anyone make one by that name)
    const st = await lstat(join(root, name)).catch(() => undefined);
    if (!st?.isDirectory() || st.uid !== process.getuid?.()) continue;
    logger.debug(`removing leftover work dir ${join(root, name)} of a run that did not finish`);
    await rm(join(root, name), { recursive: true, force: true });
  }
}
