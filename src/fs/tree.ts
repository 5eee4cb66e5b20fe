import { copyFile, link, lstat, mkdir, readdir, readlink, symlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface CopyTreeOptions {
  /** hard-link regular files (cheap; the target must never be written in place; copied across filesystems) or copy them */
  mode: 'link' | 'copy';
  /** relative path (with `/`) → false to leave the file or directory out */
  filter?: (rel: string, isDir: boolean) => boolean;
  /** keep files that already exist at the destination (EEXIST is not an error) */
  keepExisting?: boolean;
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** A hard link; a copy where the two paths are on different filesystems (`-w` on a tmpfs, the cache on disk). */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (e) {
    if (errno(e) !== 'EXDEV') throw e;
    await copyFile(from, to);
  }
}

/**
 * Copy (or hard-link) the tree `src` into `dst` (created as needed): directories, regular files and
 * symlinks; sockets, devices and fifos are skipped. Returns the number of files placed. A missing `src`
 * copies nothing.
 */
export async function copyTree(src: string, dst: string, opts: CopyTreeOptions, rel = ''): Promise<number> {
  let names: string[];
  try {
    names = await readdir(src);
  } catch (e) {
    if (errno(e) === 'ENOENT') return 0;
    throw e;
  }
  await mkdir(dst, { recursive: true });
  let n = 0;
  for (const name of names.sort()) {
    const from = join(src, name);
    const to = join(dst, name);
    const r = rel ? `${rel}/${name}` : name;
    const st = await lstat(from).catch((e: unknown) => {
      if (errno(e) === 'ENOENT') return undefined; // removed meanwhile
      throw e;
    });
    if (!st || (opts.filter && !opts.filter(r, st.isDirectory()))) continue;
    try {
      if (st.isDirectory()) n += await copyTree(from, to, opts, r);
      else if (st.isSymbolicLink()) await symlink(await readlink(from), to);
      else if (st.isFile()) {
        if (opts.mode === 'link') await linkOrCopy(from, to);
        else await copyFile(from, to);
        n++;
      }
    } catch (e) {
      if (errno(e) === 'EEXIST' && opts.keepExisting) continue;
      if (errno(e) === 'ENOENT') continue; // the source file was removed meanwhile
      throw e;
    }
  }
  return n;
}
