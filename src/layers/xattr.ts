/**
 * Extended attributes through the `attr` tools (Node has no xattr API): one `getfattr -R` per tree
 * to read, one `setfattr --restore=-` per batch to write. Symlinks are never followed.
 */
import { CopaError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { run } from './proc.js';
import { isOverlayXattr } from './ovl.js';

export type Xattrs = Map<string, Buffer>;

/** XATTR_NAME_MAX / XATTR_SIZE_MAX of Linux */
const NAME_MAX = 255;
const VALUE_MAX = 65536;

/** A name we can pass through the dump format: printable ASCII, no `=`, with a namespace. */
export function isValidXattrName(name: string): boolean {
  return name.length <= NAME_MAX && /^[\x21-\x3c\x3e-\x7e]+$/.test(name) && /^[a-z]+\.[^.]/.test(name);
}

export function isValidXattrValue(value: Buffer): boolean {
  return value.length <= VALUE_MAX;
}

/** The xattrs a layer we write carries: all but overlayfs' own bookkeeping and host SELinux labels. */
export function isPortableXattr(name: string): boolean {
  return !isOverlayXattr(name) && name !== 'security.selinux';
}

function unescapePath(line: Buffer): string {
  const out: number[] = [];
  for (let i = 0; i < line.length; i++) {
    const b = line[i] as number;
    if (b === 0x5c && i + 3 < line.length) {
      const oct = line.toString('latin1', i + 1, i + 4);
      if (/^[0-7]{3}$/.test(oct)) {
        out.push(parseInt(oct, 8) & 0xff);
        i += 3;
        continue;
      }
    }
    out.push(b);
  }
  return Buffer.from(out).toString('utf8');
}

/** Parse `getfattr -d -e base64 --absolute-names` output into path -> (name -> value). */
export function parseGetfattrDump(dump: Buffer): Map<string, Xattrs> {
  const result = new Map<string, Xattrs>();
  let current: Xattrs | undefined;
  let start = 0;
  while (start < dump.length) {
    let end = dump.indexOf(0x0a, start);
    if (end === -1) end = dump.length;
    const line = dump.subarray(start, end);
    start = end + 1;
    if (line.length === 0) {
      current = undefined;
      continue;
    }
    const text = line.toString('latin1');
    if (text.startsWith('# file: ')) {
      current = new Map();
      result.set(unescapePath(line.subarray('# file: '.length)), current);
      continue;
    }
    if (text.startsWith('#')) continue;
    if (!current) throw new CopaError('INTERNAL', `unexpected getfattr output line ${JSON.stringify(text)}`);
    const eq = text.indexOf('=');
    const name = eq === -1 ? text : text.slice(0, eq);
    const raw = eq === -1 ? '' : text.slice(eq + 1);
    current.set(name, decodeValue(raw));
  }
  return result;
}

function decodeValue(raw: string): Buffer {
  if (raw.startsWith('0s')) return Buffer.from(raw.slice(2), 'base64');
  if (raw.startsWith('0x')) return Buffer.from(raw.slice(2), 'hex');
  if (raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2)
    return Buffer.from(raw.slice(1, -1), 'latin1');
  return Buffer.from(raw, 'latin1');
}

function escapePath(path: string): string {
  let out = '';
  for (const b of Buffer.from(path)) {
    out +=
      b <= 0x20 || b >= 0x7f || b === 0x5c ? `\\${b.toString(8).padStart(3, '0')}` : String.fromCharCode(b);
  }
  return out;
}

export interface XattrItem {
  path: string;
  xattrs: readonly (readonly [string, Buffer])[];
}

/** The input `setfattr --restore` takes; paths absolute, values base64. */
export function formatSetfattrDump(items: readonly XattrItem[]): Buffer {
  const lines: string[] = [];
  for (const item of items) {
    if (item.xattrs.length === 0) continue;
    lines.push(`# file: ${escapePath(item.path)}`);
    for (const [name, value] of item.xattrs) lines.push(`${name}=0s${value.toString('base64')}`);
    lines.push('');
  }
  return Buffer.from(lines.length ? `${lines.join('\n')}\n` : '', 'latin1');
}

/** All xattrs below (and of) `dir`, one getfattr process; symlinks not followed. */
export async function readXattrsRecursive(dir: string): Promise<Map<string, Xattrs>> {
  const r = await run('getfattr', [
    '-R',
    '-P',
    '-h',
    '-d',
    '-m',
    '-',
    '-e',
    'base64',
    '--absolute-names',
    '--',
    dir,
  ]);
  if (r.code !== 0) {
    throw new CopaError('ENVIRONMENT', `reading extended attributes under ${dir} failed: ${r.stderr}`, {
      hint: 'the file system must support extended attributes (and copa must run as root for trusted.*)',
    });
  }
  return parseGetfattrDump(r.stdout);
}

/** Set xattrs on many paths with one setfattr process. Failures are logged, not thrown. */
export async function writeXattrs(items: readonly XattrItem[], logger: Logger = silentLogger): Promise<void> {
  const dump = formatSetfattrDump(items);
  if (dump.length === 0) return;
  const r = await run('setfattr', ['-h', '--restore=-'], dump);
  if (r.code !== 0) logger.warn(`some extended attributes could not be set: ${r.stderr}`);
}
