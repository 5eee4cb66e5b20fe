/**
 * Craft tar archives for tests, including hostile ones (names with `..`, absolute paths, links
 * out of the root, odd bytes). Written independently of src/layers so the tests do not check the
 * product's tar code with itself. No name cleaning: what you give is what goes in the header.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { Layer } from '../../src/oci/image.js';

export interface TarSpec {
  /** the entry name, as bytes when a string cannot say it (non-UTF-8) */
  name: string | Buffer;
  type?: 'file' | 'dir' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';
  /** raw typeflag, overrides `type` */
  typeflag?: string;
  body?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** PAX records written before the entry (e.g. path, SCHILY.xattr.security.capability) */
  pax?: Record<string, string | Buffer>;
}

const FLAG = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' } as const;

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

function block(fields: {
  name: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  devmajor: number;
  devminor: number;
}): Buffer {
  const b = Buffer.alloc(512);
  fields.name.copy(b, 0, 0, Math.min(100, fields.name.length));
  b.write(octal(fields.mode, 8), 100, 'latin1');
  b.write(octal(fields.uid, 8), 108, 'latin1');
  b.write(octal(fields.gid, 8), 116, 'latin1');
  b.write(octal(fields.size, 12), 124, 'latin1');
  b.write(octal(fields.mtime, 12), 136, 'latin1');
  b.write(fields.typeflag, 156, 'latin1');
  Buffer.from(fields.linkname).copy(b, 157, 0, 100);
  b.write('ustar\0', 257, 'latin1');
  b.write('00', 263, 'latin1');
  b.write(octal(fields.devmajor, 8), 329, 'latin1');
  b.write(octal(fields.devminor, 8), 337, 'latin1');
  b.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

function pad(n: number): Buffer {
  return Buffer.alloc((512 - (n % 512)) % 512);
}

function paxData(records: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(records)) {
    const body = Buffer.concat([Buffer.from(` ${k}=`), Buffer.from(v), Buffer.from('\n')]);
    let len = body.length + String(body.length).length;
    if (String(len).length + body.length !== len) len++;
    parts.push(Buffer.concat([Buffer.from(String(len)), body]));
  }
  return Buffer.concat(parts);
}

/** The bytes of a tar archive with these entries and a proper end-of-archive marker. */
export function makeTar(entries: TarSpec[]): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const body = e.body === undefined ? Buffer.alloc(0) : Buffer.from(e.body);
    const common = { mode: e.mode ?? (e.type === 'dir' ? 0o755 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0 };
    const mtime = e.mtime ?? 1_700_000_000;
    if (e.pax) {
      const data = paxData(e.pax);
      out.push(
        block({
          ...common,
          name: Buffer.from('PaxHeader'),
          size: data.length,
          mtime,
          typeflag: 'x',
          linkname: '',
          devmajor: 0,
          devminor: 0,
        }),
        data,
        pad(data.length),
      );
    }
    const name = Buffer.isBuffer(e.name) ? e.name : Buffer.from(e.name);
    out.push(
      block({
        ...common,
        name,
        size: body.length,
        mtime,
        typeflag: e.typeflag ?? FLAG[e.type ?? 'file'],
        linkname: e.linkname ?? '',
        devmajor: e.devmajor ?? 0,
        devminor: e.devminor ?? 0,
      }),
      body,
      pad(body.length),
    );
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

export function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/**
 * A Layer served from memory (the registry/OCI-layout sources are other helpers' work). `diffID`
 * can be given wrong on purpose to test verification.
 */
export function memoryLayer(tar: Buffer, opts: { compress?: boolean; diffID?: string } = {}): Layer {
  const blob = opts.compress === false ? tar : gzipSync(tar);
  const digest = sha256(blob);
  const mediaType =
    opts.compress === false
      ? 'application/vnd.oci.image.layer.v1.tar'
      : 'application/vnd.oci.image.layer.v1.tar+gzip';
  return {
    digest,
    diffID: opts.diffID ?? sha256(tar),
    size: blob.length,
    mediaType,
    descriptor: { mediaType, digest, size: blob.length },
    compressed: () => Promise.resolve(Readable.from([blob.subarray(0, 100), blob.subarray(100)])),
  };
}
