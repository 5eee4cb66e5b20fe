/**
 * The tar header codec (ustar + PAX + GNU long names), pure. We keep our own instead of tar-stream's
 * because PAX values must stay bytes: `SCHILY.xattr.security.capability` is binary, and tar-stream
 * decodes and encodes PAX values as UTF-8 text, which corrupts it.
 */
import { CopaError } from '../errors.js';

export const BLOCK = 512;

export type TarType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo' | 'other';

/** One raw 512-byte header block, before PAX / GNU long-name records are applied. */
export interface RawHeader {
  name: Buffer;
  linkname: Buffer;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  devmajor: number;
  devminor: number;
}

/** What we write: one entry of a layer we produce. */
export interface EntryHeader {
  name: string;
  type: Exclude<TarType, 'other'>;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** whole seconds since the epoch */
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** xattrs written as `SCHILY.xattr.<name>`, in the order given */
  xattrs?: readonly (readonly [string, Buffer])[];
}

export function malformed(detail: string): CopaError {
  return new CopaError('UNSAFE_LAYER', `malformed tar: ${detail}`, {
    hint: 'the layer blob is corrupt or not a tar archive; check the image with `skopeo inspect` or rebuild it',
  });
}

const TYPEFLAGS: Record<string, TarType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

export function tarType(typeflag: string): TarType {
  return TYPEFLAGS[typeflag] ?? 'other';
}

/** Types whose size field is ignored (no data follows), as Go's archive/tar does. */
export function isHeaderOnly(type: TarType): boolean {
  return type !== 'file' && type !== 'other';
}

function cstring(buf: Buffer, start: number, len: number): Buffer {
  const field = buf.subarray(start, start + len);
  const nul = field.indexOf(0);
  return nul === -1 ? field : field.subarray(0, nul);
}

function parseNumber(buf: Buffer, start: number, len: number, what: string): number {
  const field = buf.subarray(start, start + len);
  const first = field[0] ?? 0;
  if (first & 0x80) {
    // GNU base-256: big-endian, first byte 0x80 (positive) or 0xff (negative)
    if (first === 0xff) throw malformed(`negative ${what}`);
    let n = first & 0x7f;
    for (const b of field.subarray(1)) n = n * 256 + b;
    if (!Number.isSafeInteger(n)) throw malformed(`${what} too large`);
    return n;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw malformed(`${what} field ${JSON.stringify(text)} is not octal`);
  return parseInt(text, 8);
}

function checksumOf(block: Buffer): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return { unsigned, signed };
}

export function isZeroBlock(block: Buffer): boolean {
  for (const b of block) if (b !== 0) return false;
  return true;
}

/** Decode one header block (not all-zero). Verifies the checksum. */
export function decodeHeader(block: Buffer): RawHeader {
  if (block.length !== BLOCK) throw malformed('short header block');
  const want = parseNumber(block, 148, 8, 'checksum');
  const sum = checksumOf(block);
  if (want !== sum.unsigned && want !== sum.signed) throw malformed('header checksum mismatch');
  const magic = block.subarray(257, 263).toString('latin1');
  let name = cstring(block, 0, 100);
  if (magic === 'ustar\0') {
    const prefix = cstring(block, 345, 155);
    if (prefix.length > 0) name = Buffer.concat([prefix, Buffer.from('/'), name]);
  }
  const typeflag = String.fromCharCode(block[156] ?? 0);
  return {
    name,
    linkname: cstring(block, 157, 100),
    typeflag,
    mode: parseNumber(block, 100, 8, 'mode'),
    uid: parseNumber(block, 108, 8, 'uid'),
    gid: parseNumber(block, 116, 8, 'gid'),
    size: parseNumber(block, 124, 12, 'size'),
    mtime: parseNumber(block, 136, 12, 'mtime'),
    devmajor: parseNumber(block, 329, 8, 'devmajor'),
    devminor: parseNumber(block, 337, 8, 'devminor'),
  };
}

/** Parse PAX extended header records ("<len> <key>=<value>\n"); values stay bytes. */
export function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers pad with NULs
    const space = data.indexOf(0x20, pos);
    if (space === -1 || space - pos > 20) throw malformed('PAX record without a length');
    const lenText = data.toString('latin1', pos, space);
    if (!/^[0-9]+$/.test(lenText)) throw malformed(`PAX record length ${JSON.stringify(lenText)}`);
    const len = parseInt(lenText, 10);
    const end = pos + len;
    if (len <= space - pos + 1 || end > data.length || data[end - 1] !== 0x0a) {
      throw malformed('PAX record length does not match its content');
    }
    const record = data.subarray(space + 1, end - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw malformed('PAX record without a key');
    out.set(record.toString('utf8', 0, eq), Buffer.from(record.subarray(eq + 1)));
    pos = end;
  }
  return out;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

export function encodePax(records: readonly (readonly [string, Buffer])[]): Buffer {
  return Buffer.concat(records.map(([k, v]) => paxRecord(k, v)));
}

const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;
const TYPEFLAG_OF: Record<EntryHeader['type'], string> = {
  file: '0',
  link: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

function isPlainAscii(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}

/** Split a name into ustar (prefix, name) if it fits, else undefined. */
export function splitUstarName(name: string): { prefix: string; name: string } | undefined {
  if (!isPlainAscii(name)) return undefined;
  if (name.length <= 100) return { prefix: '', name };
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (prefix.length <= 155 && rest.length > 0 && rest.length <= 100) return { prefix, name: rest };
    if (prefix.length > 155) break;
  }
  return undefined;
}

function writeOctal(block: Buffer, start: number, len: number, value: number): void {
  block.write(value.toString(8).padStart(len - 1, '0'), start, len - 1, 'latin1');
  block[start + len - 1] = 0;
}

function ustarBlock(h: {
  name: { prefix: string; name: string };
  linkname: string;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  devmajor: number;
  devminor: number;
}): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(h.name.name, 0, 100, 'latin1');
  writeOctal(block, 100, 8, h.mode & 0o7777);
  writeOctal(block, 108, 8, h.uid);
  writeOctal(block, 116, 8, h.gid);
  writeOctal(block, 124, 12, h.size);
  writeOctal(block, 136, 12, h.mtime);
  block.write(h.typeflag, 156, 1, 'latin1');
  block.write(h.linkname, 157, 100, 'latin1');
  block.write('ustar\x0000', 257, 8, 'latin1');
  writeOctal(block, 329, 8, h.devmajor);
  writeOctal(block, 337, 8, h.devminor);
  block.write(h.name.prefix, 345, 155, 'latin1');
  block.fill(0x20, 148, 156);
  const sum = checksumOf(block).unsigned;
  block.write(sum.toString(8).padStart(6, '0'), 148, 6, 'latin1');
  block[154] = 0;
  block[155] = 0x20;
  return block;
}

export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}

/**
 * Encode one entry's header: a ustar block, preceded by a PAX header when a value does not fit
 * (long or non-ASCII names, big ids/sizes) or xattrs are present. Deterministic.
 */
export function encodeHeader(h: EntryHeader): Buffer {
  const name = h.type === 'dir' && !h.name.endsWith('/') ? `${h.name}/` : h.name;
  const linkname = h.linkname ?? '';
  const pax: [string, Buffer][] = [];
  const split = splitUstarName(name);
  if (!split) pax.push(['path', Buffer.from(name)]);
  const linkFits = isPlainAscii(linkname) && linkname.length <= 100;
  if (!linkFits) pax.push(['linkpath', Buffer.from(linkname)]);
  if (h.uid > MAX_OCTAL_7) pax.push(['uid', Buffer.from(String(h.uid))]);
  if (h.gid > MAX_OCTAL_7) pax.push(['gid', Buffer.from(String(h.gid))]);
  if (h.size > MAX_OCTAL_11) pax.push(['size', Buffer.from(String(h.size))]);
  const mtime = Math.max(0, Math.floor(h.mtime));
  if (mtime > MAX_OCTAL_11) pax.push(['mtime', Buffer.from(String(mtime))]);
  for (const [k, v] of h.xattrs ?? []) pax.push([`SCHILY.xattr.${k}`, v]);

  const main = ustarBlock({
    name: split ?? { prefix: '', name: asciiTruncate(name, 100) },
    linkname: linkFits ? linkname : asciiTruncate(linkname, 100),
    typeflag: TYPEFLAG_OF[h.type],
    mode: h.mode,
    uid: Math.min(h.uid, MAX_OCTAL_7),
    gid: Math.min(h.gid, MAX_OCTAL_7),
    size: Math.min(h.size, MAX_OCTAL_11),
    mtime: Math.min(mtime, MAX_OCTAL_11),
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
  });
  if (pax.length === 0) return main;
  const data = encodePax(pax);
  const paxBlock = ustarBlock({
    name: { prefix: '', name: 'PaxHeader' },
    linkname: '',
    typeflag: 'x',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data.length,
    mtime: Math.min(mtime, MAX_OCTAL_11),
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxBlock, data, padding(data.length), main]);
}

function asciiTruncate(s: string, max: number): string {
  return s.replace(/[^\x20-\x7e]/g, '_').slice(0, max);
}
