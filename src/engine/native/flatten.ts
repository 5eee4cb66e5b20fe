import { execFile } from 'node:child_process';
import { lstat, readdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { CopaError } from '../../errors.js';
import { readXattrsRecursive } from '../../layers/xattr.js';
import { resolveInRoot } from './resolve.js';
import { ovlXattr } from '../../layers/ovl.js';

const run = promisify(execFile);

/** Whiteouts (char 0/0) and opaque dirs of an overlay-form layer dir, as paths relative to it. */
async function overlayMarkers(dir: string): Promise<{ whiteouts: string[]; opaque: string[] }> {
  const whiteouts: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isCharacterDevice() && (await lstat(p)).rdev === 0) whiteouts.push(relative(dir, p));
      else if (e.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  const opaque: string[] = [];
  for (const [path, attrs] of await readXattrsRecursive(dir)) {
    if (attrs.get(ovlXattr('opaque'))?.toString() === 'y') opaque.push(relative(dir, path));
  }
  return { whiteouts, opaque };
}

/**
 * Without overlayfs: copy the cached layer dirs (bottom first) into one plain tree, applying whiteouts and
 * opaque directories the way overlayfs would show them. Paths are resolved inside `dest`.
 */
export async function flattenLayers(layerDirs: string[], dest: string): Promise<void> {
  for (const dir of layerDirs) {
    const { whiteouts, opaque } = await overlayMarkers(dir);
    for (const rel of opaque) {
      if (rel === '') continue;
      const target = await resolveInRoot(dest, rel);
      for (const name of await readdir(target).catch(() => [] as string[])) {
        await rm(join(target, name), { recursive: true, force: true });
      }
    }
    for (const rel of whiteouts) await rm(await resolveInRoot(dest, rel), { recursive: true, force: true });
    await copyTree(dir, dest);
    // the whiteout nodes themselves were copied too: they mean "absent"
    for (const rel of whiteouts) await rm(join(dest, rel), { force: true });
  }
}

/** `cp -a` of a layer dir's contents (owners, modes, xattrs, hardlinks, device nodes) over `dest`. */
export async function copyTree(dir: string, dest: string): Promise<void> {
  try {
    await run('cp', ['-a', '--remove-destination', `${dir}/.`, `${dest}/`]);
  } catch (e) {
    throw new CopaError(
      'ENVIRONMENT',
      `copying layer ${dir} into ${dest} failed: ${(e as { stderr?: string }).stderr ?? String(e)}`,
    );
  }
}
