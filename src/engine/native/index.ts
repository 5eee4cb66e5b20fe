import { readFile } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CopaError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { openSandbox, type SandboxSession } from './sandbox.js';

export { requireRoot } from './root.js';
export { createWorkDir } from './workdir.js';
export type { SandboxSession } from './sandbox.js';

export async function overlayAvailable(): Promise<boolean> {
  const fs = await readFile('/proc/filesystems', 'utf8').catch(() => '');
  return /\toverlay$/m.test(fs);
}

export interface ImageRootOptions {
  /** extracted layer dirs (overlay form), bottom layer first */
  layerDirs: string[];
  /** this run's scratch dir */
  workDir: string;
  logger: Logger;
  signal?: AbortSignal;
}

export interface ImageRoot {
  session: SandboxSession;
  /** the directory holding every change made through the session (an overlayfs upperdir) */
  upperdir: string;
}

/**
 * Stack the image layers with overlayfs and open a sandbox over the merged tree. The caller runs its
 * commands, then closes the session; the upperdir then holds exactly the changes.
 */
export async function openImageRoot(opts: ImageRootOptions): Promise<ImageRoot> {
  if (!(await overlayAvailable())) {
    throw new CopaError('ENVIRONMENT', 'overlayfs is not available in this kernel', {
      hint: 'load it with `modprobe overlay`, or run copa on a host with overlayfs',
    });
  }
  const upperdir = join(opts.workDir, 'upper');
  const workdir = join(opts.workDir, 'work');
  const merged = join(opts.workDir, 'merged');
  for (const d of [upperdir, workdir, merged]) await mkdir(d, { recursive: true });
  const session = await openSandbox(
    {
      lowerdirs: [...opts.layerDirs].reverse(),
      upperdir,
      workdir,
      merged,
      overlay: true,
      binds: [{ source: '/etc/resolv.conf', target: '/etc/resolv.conf', kind: 'file', readOnly: true }],
      tmpfs: ['/tmp', '/run', '/var/tmp'],
    },
    { stateDir: opts.workDir, logger: opts.logger, ...(opts.signal ? { signal: opts.signal } : {}) },
  );
  return { session, upperdir };
}
