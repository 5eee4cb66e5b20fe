/**
 * Resolve directories inside a root without ever leaving it (the way a chroot would see them).
 * Synchronous on purpose: an extraction makes tens of thousands of these calls, and a round trip
 * through libuv's thread pool per call costs more than the system call itself.
 */
import { lstatSync, mkdirSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';

/** A reason an entry is refused; the extractor turns it into an UNSAFE_LAYER error naming the entry. */
export class Unsafe extends Error {}

const MAX_LINKS = 40;

export function lstatOrNull(path: string): Stats | null {
  return lstatSync(path, { throwIfNoEntry: false }) ?? null;
}

export interface ResolveOptions {
  /** resolve symlinks within the root (apply mode); otherwise a symlink component is refused */
  followSymlinks: boolean;
  /** create missing directories (mode 0755) */
  create: boolean;
  /** told about every directory created */
  onCreate?: (abs: string) => void;
}

/**
 * The real directory for `rel` (relative to root): every component is checked with lstat; symlinks
 * are followed only when asked, and then resolved relative to the root (absolute targets) or the
 * current directory, `..` stopping at the root. Returns undefined when a component is missing and
 * `create` is off.
 */
export function resolveDir(root: string, rel: string, opts: ResolveOptions): string | undefined {
  const done: string[] = [];
  const todo = rel
    .split('/')
    .filter((p) => p !== '')
    .reverse();
  let links = 0;
  while (todo.length > 0) {
    const part = todo.pop() as string;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const abs = join(root, ...done, part);
    const st = lstatOrNull(abs);
    if (!st) {
      if (!opts.create) return undefined;
      mkdirSync(abs, { mode: 0o755 });
      opts.onCreate?.(abs);
      done.push(part);
    } else if (st.isDirectory()) {
      done.push(part);
    } else if (st.isSymbolicLink()) {
      if (!opts.followSymlinks)
        throw new Unsafe(`parent ${JSON.stringify([...done, part].join('/'))} is a symlink`);
      if (++links > MAX_LINKS) throw new Unsafe('too many levels of symbolic links');
      const target = readlinkSync(abs);
      if (target.startsWith('/')) done.length = 0;
      todo.push(
        ...target
          .split('/')
          .filter((p) => p !== '')
          .reverse(),
      );
    } else {
      throw new Unsafe(`parent ${JSON.stringify([...done, part].join('/'))} is not a directory`);
    }
  }
  return join(root, ...done);
}
