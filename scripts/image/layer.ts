/**
 * Image layers for `npm run image`: a directory tree -> a reproducible tar (GNU tar: sorted names, root owner,
 * one mtime) -> gzip, with its digest and diffID computed while streaming. Finished layers are cached as
 * directories `<cache>/<key>/` holding layer.tar.gz + layer.json, which appear by rename (never half-written).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { z } from 'zod';
import { CopaError } from '../../src/errors.js';
import { withLock } from '../../src/fs/lock.js';

export const BuiltLayerSchema = z.object({
  /** sha256 of the gzip blob */
  digest: z.string(),
  /** sha256 of the uncompressed tar */
  diffID: z.string(),
  size: z.number(),
  /** the history entry of this layer */
  createdBy: z.string(),
});
export type BuiltLayerMeta = z.infer<typeof BuiltLayerSchema>;
export interface BuiltLayer extends BuiltLayerMeta {
  /** the gzip blob on disk */
  path: string;
}

/** Run a program (argv, no shell); its stderr is kept for the error message. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; quiet?: boolean } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? new CopaError('ENVIRONMENT', `${cmd} is not installed`, { hint: `install ${cmd}`, cause: e })
          : e,
      ),
    );
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else {
        const tail = err.trim().split('\n').slice(-3).join(' | ');
        reject(
          new CopaError(
            'ENVIRONMENT',
            `${cmd} ${args.slice(0, 3).join(' ')}… failed (exit ${code}): ${tail}`,
          ),
        );
      }
    });
  });
}

function hashing(hash: ReturnType<typeof createHash>, count?: { n: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      if (count) count.n += chunk.length;
      cb(null, chunk);
    },
  });
}

/** gzip `tarPath` into `outPath`; returns the blob digest, the tar's diffID and the blob size. */
export async function gzipLayer(
  tarPath: string,
  outPath: string,
): Promise<{ digest: string; diffID: string; size: number }> {
  const diff = createHash('sha256');
  const blob = createHash('sha256');
  const count = { n: 0 };
  // Node's gzip header has mtime 0 and no name: the blob depends on the tar bytes only
  await pipeline(
    createReadStream(tarPath),
    hashing(diff),
    createGzip({ level: 6 }),
    hashing(blob, count),
    createWriteStream(outPath),
  );
  return { digest: `sha256:${blob.digest('hex')}`, diffID: `sha256:${diff.digest('hex')}`, size: count.n };
}

/** A reproducible tar of the entries `names` under `dir` (sorted, root:root, every mtime = `epoch`). */
export async function tarTree(dir: string, names: string[], out: string, epoch: number): Promise<void> {
  await run('tar', [
    '--create',
    '--file',
    out,
    '--sort=name',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    `--mtime=@${epoch}`,
    '--format=gnu',
    '-C',
    dir,
    ...names,
  ]);
}

const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false,
  );

/**
 * The cached layer `<root>/<key>`, made by `make(tmp)` (which writes `tmp/layer.tar` and returns the history
 * text) when absent, under a lock. The tar is gzipped, then the entry appears by rename; temp dirs left by an
 * interrupted build are removed by the next one.
 */
export async function cachedLayer(
  root: string,
  key: string,
  make: (tmp: string) => Promise<string>,
): Promise<BuiltLayer & { cached: boolean }> {
  const dir = join(root, key);
  const meta = join(dir, 'layer.json');
  const read = async (): Promise<(BuiltLayer & { cached: boolean }) | undefined> => {
    if (!(await exists(meta))) return undefined;
    const parsed = BuiltLayerSchema.parse(JSON.parse(await readFile(meta, 'utf8')));
    return { ...parsed, path: join(dir, 'layer.tar.gz'), cached: true };
  };
  const hit = await read();
  if (hit) return hit;
  await mkdir(root, { recursive: true });
  // one builder per key (another build of the same key waits, then reads its result)
  const lock = { what: `the image layer cache entry ${key}`, lockPath: join(root, `.${key}.lock`) };
  return withLock(dir, lock, async () => {
    const built = await read();
    if (built) return built;
    for (const name of await readdir(root)) {
      if (name.startsWith(`.tmp-${key}-`)) await rm(join(root, name), { recursive: true, force: true });
    }
    const tmp = join(root, `.tmp-${key}-${randomBytes(4).toString('hex')}`);
    await mkdir(tmp);
    try {
      const createdBy = await make(tmp);
      const sums = await gzipLayer(join(tmp, 'layer.tar'), join(tmp, 'layer.tar.gz'));
      await rm(join(tmp, 'layer.tar'), { force: true });
      const record: BuiltLayerMeta = { ...sums, createdBy };
      await writeFile(join(tmp, 'layer.json'), JSON.stringify(record, null, 2) + '\n');
      await rm(join(tmp, 'work'), { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true }); // an entry left without layer.json
      await rename(tmp, dir);
      return { ...record, path: join(dir, 'layer.tar.gz'), cached: false };
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
  });
}

export function shortHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}
