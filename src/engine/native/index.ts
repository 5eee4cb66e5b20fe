import { readFile } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { formatPlatform } from '../../oci/platform.js';
import { snapshot, writeDiffLayer, type Snapshot } from '../../layers/snapshot.js';
import { writeLayer } from '../../layers/writer.js';
import type { Engine, ImageRoot, ImageRootOptions, ToolingRoot } from '../types.js';
import { emulationEnabled, emulationHint, requireEmulation } from './emulation.js';
import { copyTree, flattenLayers } from './flatten.js';
import type { SandboxSpec, ToolingSpec } from './protocol.js';
import { requireRoot } from './root.js';
import { openSandbox, type SandboxSession } from './sandbox.js';
import { openScratch } from './scratch.js';
import { createWorkDir, keepWorkDir, removeWorkDir } from './workdir.js';

export { requireRoot } from './root.js';
export { createWorkDir, keepWorkDir, removeWorkDir } from './workdir.js';
export type { SandboxSession } from './sandbox.js';
export type { ImageRoot, ImageRootOptions } from '../types.js';

export async function overlayAvailable(): Promise<boolean> {
  const fs = await readFile('/proc/filesystems', 'utf8').catch(() => '');
  return /\toverlay$/m.test(fs);
}

/**
 * Stack the image layers with overlayfs and open a sandbox over the merged tree. The caller runs its
 * commands, then closes the session; the upperdir then holds exactly the changes. Without overlayfs (or with
 * COPA_NO_OVERLAY=1) the layers are copied into a plain tree and the changes found by a before/after walk.
 */
let toolingSeq = 0;

async function toolingSpec(workDir: string, t: ToolingRoot): Promise<ToolingSpec> {
  // a fresh dir per tooling root: what a tool leaves in its own root is thrown away
  const dir = join(workDir, `tooling-${++toolingSeq}`);
  const spec = {
    lowerdirs: [...t.layerDirs].reverse(),
    upperdir: join(dir, 'upper'),
    workdir: join(dir, 'work'),
    merged: join(dir, 'merged'),
    targetPath: t.targetPath,
  };
  for (const d of [spec.upperdir, spec.workdir, spec.merged]) await mkdir(d, { recursive: true });
  return spec;
}

export async function openImageRoot(opts: ImageRootOptions): Promise<ImageRoot> {
  const overlay = process.env.COPA_NO_OVERLAY !== '1' && (await overlayAvailable());
  // the upper and work dirs in memory when there is room (package managers write much faster there)
  const scratch =
    overlay && opts.imageBytes !== undefined
      ? await openScratch(opts.workDir, opts.imageBytes, opts.logger)
      : opts.workDir;
  const upperdir = join(scratch, 'upper');
  const workdir = join(scratch, 'work');
  const merged = join(opts.workDir, 'merged');
  for (const d of [upperdir, workdir, merged]) await mkdir(d, { recursive: true });
  let before: Snapshot | undefined;
  if (!overlay) {
    opts.logger.warn('overlayfs is not available: copying the image into a plain tree (slower)');
    await flattenLayers(opts.layerDirs, merged);
    before = await snapshot(merged);
    await flattenLayers(opts.seedDirs ?? [], merged);
  } else {
    for (const seed of opts.seedDirs ?? []) await copyTree(seed, upperdir);
  }
  const open = async (tooling: ToolingRoot | undefined): Promise<SandboxSession> => {
    const spec: SandboxSpec = {
      lowerdirs: [...opts.layerDirs].reverse(),
      upperdir,
      workdir,
      merged,
      overlay,
      binds: [{ source: '/etc/resolv.conf', target: '/etc/resolv.conf', kind: 'file', readOnly: true }],
      tmpfs: ['/tmp', '/run', '/var/tmp'],
      tooling: tooling && (await toolingSpec(opts.workDir, tooling)),
    };
    return openSandbox(spec, {
      stateDir: opts.workDir,
      logger: opts.logger,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  };
  let session = await open(opts.tooling);
  const created = new Set<string>();
  return {
    get session() {
      return session;
    },
    mode: overlay ? 'overlay' : 'copy',
    memoryScratch: scratch === opts.workDir ? undefined : scratch,
    hostBinds: true,
    async reopen(tooling) {
      for (const c of session.created) created.add(c);
      await session.close();
      session = await open(tooling);
      return session;
    },
    created: () => [...new Set([...created, ...session.created])],
    writeLayer: (outFile, packOpts) =>
      before
        ? writeDiffLayer(merged, before, outFile, packOpts)
        : writeLayer(upperdir, outFile, { ...packOpts, lowerdirs: [...opts.layerDirs].reverse() }),
  };
}

/** The daemonless engine: overlayfs and namespaces on this machine, as root. */
export const nativeEngine: Engine = {
  name: 'native',
  pullsImages: false,
  check: requireRoot,
  checkPlatform: (platform) => requireEmulation(platform, formatPlatform(platform)),
  platformHint: async (platform) =>
    (await emulationEnabled(platform)) ? undefined : emulationHint(platform.architecture),
  createWorkDir,
  keepWorkDir,
  removeWorkDir,
  openImageRoot,
};
