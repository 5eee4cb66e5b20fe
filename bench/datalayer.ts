import { randomBytes, randomInt } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

/**
 * The extra data layer that makes the "10x" image: incompressible files (random bytes, like media or
 * already-compressed archives) and compressible ones (log-like text), in the proportions that make the
 * image about `factor` times the small one both compressed and uncompressed.
 */

export interface ImageSize {
  /** Σ compressed layer sizes */
  compressed: number;
  /** Σ uncompressed layer sizes */
  uncompressed: number;
}

export interface DataLayerPlan {
  randomBytes: number;
  textBytes: number;
}

/**
 * Solve R + T = (f-1)·U and R + k·T = (f-1)·Z for the random bytes R and text bytes T, where k is the
 * text's gzip ratio. When the small image compresses better than the text, it is all text (and the
 * compressed image ends up more than factor× larger).
 */
export function planDataLayer(small: ImageSize, factor: number, textRatio: number): DataLayerPlan {
  if (!(factor > 1)) throw new Error(`factor must be > 1, got ${factor}`);
  if (!(textRatio > 0 && textRatio < 1))
    throw new Error(`text gzip ratio must be in (0, 1), got ${textRatio}`);
  const extraU = (factor - 1) * small.uncompressed;
  const extraZ = (factor - 1) * small.compressed;
  const text = Math.min(extraU, Math.max(0, (extraU - extraZ) / (1 - textRatio)));
  return { randomBytes: Math.round(extraU - text), textBytes: Math.round(text) };
}

const SERVICES = ['api', 'auth', 'billing', 'search', 'worker', 'gateway', 'cache', 'mailer'];
const LEVELS = ['info', 'info', 'info', 'debug', 'warn', 'error'];
const RESOURCES = ['items', 'users', 'orders', 'invoices', 'sessions', 'reports'];
const STATUS = [200, 200, 200, 201, 204, 304, 400, 404, 500];

const pick = <T>(list: readonly T[]): T => list[randomInt(list.length)] as T;

/** About `size` bytes of log-like text (whole lines). */
export function logText(size: number, startSecond = 0): Buffer {
  const lines: string[] = [];
  let n = 0;
  let t = startSecond;
  while (n < size) {
    t += randomInt(3);
    const ts = new Date(Date.UTC(2026, 0, 1) + t * 1000).toISOString();
    const line =
      `${ts} host-${randomInt(32)} svc=${pick(SERVICES)} level=${pick(LEVELS)} ` +
      `req=${randomBytes(4).toString('hex')} path=/api/v1/${pick(RESOURCES)}/${randomInt(100_000)} ` +
      `status=${pick(STATUS)} bytes=${randomInt(65_536)} dur_ms=${randomInt(2_000)}\n`;
    lines.push(line);
    n += line.length;
  }
  return Buffer.from(lines.join(''));
}

/** gzip ratio of the log text (measured on a sample). */
export function measureTextRatio(sampleBytes = 4 << 20): number {
  const sample = logText(sampleBytes);
  return gzipSync(sample).length / sample.length;
}

type TarHeader = Partial<tar.Header> & Pick<tar.Header, 'name'>;

export const RANDOM_FILE = 1 << 20;
export const TEXT_FILE = 256 << 10;
const ROOT = 'opt/bench-data';
const FILES_PER_DIR = 200;

/** Add one entry and wait until the pack has taken it (tar-stream passes the consumer's backpressure on). */
async function addEntry(pack: tar.Pack, header: TarHeader, body?: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
    if (body === undefined) pack.entry(header, cb);
    else pack.entry(header, body, cb);
  });
}

/** Write the data layer as an uncompressed tar (files streamed one by one; nothing big in memory). */
export async function writeDataLayerTar(
  path: string,
  plan: DataLayerPlan,
  mtimeSeconds: number,
): Promise<{ files: number }> {
  const pack = tar.pack();
  const out = pipeline(pack, createWriteStream(path));
  const mtime = new Date(mtimeSeconds * 1000);
  const dir = (name: string): TarHeader => ({
    name: `${name}/`,
    type: 'directory',
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtime,
  });
  const file = (name: string, size: number): TarHeader => ({
    name,
    type: 'file',
    size,
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime,
  });
  let files = 0;
  for (const d of ['opt', ROOT, `${ROOT}/bin`, `${ROOT}/logs`]) await addEntry(pack, dir(d));
  const write = async (
    kind: 'bin' | 'logs',
    total: number,
    each: number,
    make: (n: number, i: number) => Buffer,
  ): Promise<void> => {
    for (let i = 0, left = total; left > 0; i++, left -= each) {
      const sub = `${ROOT}/${kind}/${String(Math.floor(i / FILES_PER_DIR)).padStart(3, '0')}`;
      if (i % FILES_PER_DIR === 0) await addEntry(pack, dir(sub));
      const body = make(Math.min(each, left), i);
      const name = `${sub}/${kind === 'bin' ? 'blob' : 'app'}-${String(i).padStart(6, '0')}.${kind === 'bin' ? 'bin' : 'log'}`;
      await addEntry(pack, file(name, body.length), body);
      files++;
    }
  };
  await write('bin', plan.randomBytes, RANDOM_FILE, (n) => randomBytes(n));
  await write('logs', plan.textBytes, TEXT_FILE, (n, i) => logText(n, i * 3600).subarray(0, n));
  pack.finalize();
  await out;
  return { files };
}
