import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CopaError, withContext } from '../errors.js';

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function writeFileSynced(path: string, data: string, flags: string, like?: Stats): Promise<void> {
  const fh = await open(path, flags, 0o600);
  try {
    if (like) {
      await fh.chmod(like.mode & 0o7777);
      await fh.chown(like.uid, like.gid).catch(() => undefined);
    }
    await fh.writeFile(data, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const USAGE_CODES = new Set(['ENOENT', 'EACCES', 'EROFS', 'EISDIR', 'ENOTDIR']);

/**
 * Write a document the user asked for (VEX, SBOM) the way Copa writes its VEX file: a new file is written
 * to a temporary file beside it and renamed into place (readers never see half a document; mode 0600); an
 * existing path is overwritten in place, which keeps its owner and mode and works for symlinks and
 * /dev/stdout. With `replaceFiles`, an existing regular file is replaced the atomic way too (the new file
 * gets its mode and owner). A path that cannot be written is a usage error naming `what` and `flag`.
 */
export async function writeOutputFile(
  path: string,
  data: string,
  names: { what: string; flag: string; replaceFiles?: boolean },
): Promise<void> {
  try {
    const existing = await lstatOrUndefined(path);
    if (existing && !(names.replaceFiles && existing.isFile())) {
      await writeFileSynced(path, data, 'w');
      return;
    }
    const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await writeFileSynced(tmp, data, 'wx', existing);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  } catch (err) {
    if (USAGE_CODES.has((err as NodeJS.ErrnoException).code ?? '')) {
      throw new CopaError('USAGE', `cannot write the ${names.what} to ${path}: ${(err as Error).message}`, {
        hint: `choose a writable file path for ${names.flag} (its directory must exist)`,
        cause: err,
      });
    }
    throw withContext(err, `writing the ${names.what} to ${path}`);
  }
}
