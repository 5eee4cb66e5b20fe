import { lstat, readlink } from 'node:fs/promises';
import { posix } from 'node:path';

/**
 * Resolve `path` (absolute, as seen inside the image) to a host path under `root`, following symlinks the way
 * a chroot would: an absolute link target restarts at `root`, `..` never climbs above it. The result is
 * always inside `root`, whatever the (untrusted) tree contains.
 */
export async function resolveInRoot(root: string, path: string, maxLinks = 40): Promise<string> {
  const pending = path.split('/').filter((p) => p !== '' && p !== '.');
  const done: string[] = [];
  let links = 0;
  let missing = false;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = posix.join(root, ...done, part);
    const st = missing ? undefined : await lstat(host).catch(() => undefined);
    if (st === undefined)
      missing = true; // the rest is taken literally (callers create it)
    else if (st.isSymbolicLink()) {
      if (++links > maxLinks) throw new Error(`too many symbolic links resolving ${path}`);
      const target = await readlink(host);
      const next = target.split('/').filter((p) => p !== '' && p !== '.');
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...next);
      continue;
    }
    done.push(part);
  }
  return posix.join(root, ...done);
}
