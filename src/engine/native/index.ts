import { readFile } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../log.js';
import { snapshot, writeDiffLayer, type Snapshot } from '../../layers/snapshot.js';
import { writeLayer, type WriteLayerOptions as PackOptions, type WrittenLayer } from '../../layers/writer.js';
import { copyTree, flattenLayers } from './flatten.js';
import type { ToolingSpec } from './protocol.js';
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
  /**
   * Layers (overlay form, bottom first) that sit above `layerDirs` but belong to the changes: a previous patch
   * being squashed into the new one (re-patching). They are copied into the upperdir before mounting.
   */
  seedDirs?: string[] | undefined;
  /** a tooling image (extracted layer dirs, bottom first) whose tools work on the image bound at targetPath */
  tooling?: { layerDirs: string[]; targetPath: string } | undefined;
}

export interface ImageRoot {
  session: SandboxSession;
  /** 'overlay': changes land in an upperdir; 'copy': a plain tree diffed against a snapshot */
  mode: 'overlay' | 'copy';
  /** after the session is closed: write every change made through it as one layer blob */
  writeLayer(outFile: string, opts: PackOptions): Promise<WrittenLayer>;
}

/**
 * Stack the image layers with overlayfs and open a sandbox over the merged tree. The caller runs its
 * commands, then closes the session; the upperdir then holds exactly the changes. Without overlayfs (or with
 * COPA_NO_OVERLAY=1) the layers are copied into a plain tree and the changes found by a before/after walk.
 */
async function toolingSpec(
  workDir: string,
  t: { layerDirs: string[]; targetPath: string },
): Promise<ToolingSpec> {
  const dir = join(workDir, 'tooling');
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
  const upperdir = join(opts.workDir, 'upper');
  const workdir = join(opts.workDir, 'work');
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
  const session = await openSandbox(
    {
      lowerdirs: [...opts.layerDirs].reverse(),
      upperdir,
      workdir,
      merged,
      overlay,
      binds: [{ source: '/etc/resolv.conf', target: '/etc/resolv.conf', kind: 'file', readOnly: true }],
      tmpfs: ['/tmp', '/run', '/var/tmp'],
      tooling: opts.tooling && (await toolingSpec(opts.workDir, opts.tooling)),
    },
    { stateDir: opts.workDir, logger: opts.logger, ...(opts.signal ? { signal: opts.signal } : {}) },
  );
  return {
    session,
    mode: overlay ? 'overlay' : 'copy',
    writeLayer: (outFile, packOpts) =>
      before ? writeDiffLayer(merged, before, outFile, packOpts) : writeLayer(upperdir, outFile, packOpts),
  };
}
