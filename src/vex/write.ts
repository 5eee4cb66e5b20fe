import { randomBytes } from 'node:crypto';
import { lstat, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CopaError, withContext } from '../errors.js';
import type { OpenVexDocument } from './types.js';

/** The file's bytes: two-space indented JSON and a final newline. */
export function serializeVex(doc: OpenVexDocument): string {
  return JSON.stringify(doc, null, 2) + '\n';
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

async function writeFileSynced(path: string, data: string, flags: string): Promise<void> {
  const fh = await open(path, flags, 0o600);
  try {
    await fh.writeFile(data, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Write the document the way Copa does: a new file is written to a temporary file beside it and
 * renamed into place (readers never see half a document; mode 0600); an existing path is
 * overwritten in place, which keeps its owner and mode and works for symlinks and /dev/stdout.
 */
export async function writeVex(path: string, doc: OpenVexDocument): Promise<void> {
  const data = serializeVex(doc);
  try {
    if (await exists(path)) {
      await writeFileSynced(path, data, 'w');
      return;
    }
    const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await writeFileSynced(tmp, data, 'wx');
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (
      code === 'ENOENT' ||
      code === 'EACCES' ||
      code === 'EROFS' ||
      code === 'EISDIR' ||
      code === 'ENOTDIR'
    ) {
      throw new CopaError('USAGE', `cannot write the VEX document to ${path}: ${(err as Error).message}`, {
        hint: 'choose a writable file path for --output (its directory must exist)',
        cause: err,
      });
    }
    throw withContext(err, `writing the VEX document to ${path}`);
  }
}
