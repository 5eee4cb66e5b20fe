/**
 * A streaming tar reader: an async generator of entries whose bodies are streamed (never buffered),
 * with PAX (local and global) and GNU long-name records applied. Memory is bounded: metadata records
 * larger than MAX_META bytes are refused.
 */
import {
  BLOCK,
  decodeHeader,
  isHeaderOnly,
  isZeroBlock,
  malformed,
  parsePax,
  tarType,
  type TarType,
} from './tar-header.js';

export const MAX_META = 1 << 20;

export interface TarHeader {
  name: string;
  linkname: string;
  /** false when the name or link name is not valid UTF-8 (shown lossily in `name`) */
  utf8: boolean;
  type: TarType;
  typeflag: string;
  /** permission bits incl. setuid/setgid/sticky */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** seconds since the epoch, may be fractional (PAX) */
  mtime: number;
  devmajor: number;
  devminor: number;
  /** `SCHILY.xattr.*` records, values as bytes */
  xattrs: Map<string, Buffer>;
  /** GNU sparse file (we do not expand those) */
  sparse: boolean;
}

export interface TarEntry {
  header: TarHeader;
  /** the entry's data; whatever is not read is skipped when the next entry is requested */
  body: AsyncIterable<Buffer>;
}

class ByteQueue {
  private chunks: Buffer[] = [];
  private length = 0;
  private ended = false;

  constructor(private readonly it: AsyncIterator<unknown>) {}

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.it.next();
    if (r.done) {
      this.ended = true;
      return false;
    }
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    if (b.length > 0) {
      this.chunks.push(b);
      this.length += b.length;
    }
    return true;
  }

  private takeUpTo(n: number): Buffer {
    const first = this.chunks[0];
    if (!first) return Buffer.alloc(0);
    if (first.length <= n) {
      this.chunks.shift();
      this.length -= first.length;
      return first;
    }
    this.chunks[0] = first.subarray(n);
    this.length -= n;
    return first.subarray(0, n);
  }

  /** Exactly n bytes, or fewer only at end of input. */
  async read(n: number): Promise<Buffer> {
    while (this.length < n && (await this.fill()));
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n && this.length > 0) {
      const part = this.takeUpTo(n - got);
      parts.push(part);
      got += part.length;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  /** Up to n bytes as they arrive. */
  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.length === 0 && !(await this.fill()))
        throw malformed('unexpected end of archive inside an entry');
      const part = this.takeUpTo(left);
      left -= part.length;
      if (part.length > 0) yield part;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.stream(n));
  }

  async drain(): Promise<void> {
    this.chunks = [];
    this.length = 0;
    while (await this.fill()) {
      this.chunks = [];
      this.length = 0;
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeName(b: Buffer): { text: string; ok: boolean } {
  try {
    return { text: utf8.decode(b), ok: true };
  } catch {
    return { text: b.toString('utf8'), ok: false };
  }
}

function paxNumber(v: Buffer | undefined, what: string): number | undefined {
  if (v === undefined || v.length === 0) return undefined;
  const s = v.toString('latin1');
  if (!/^-?[0-9]+(\.[0-9]+)?$/.test(s)) throw malformed(`PAX ${what} ${JSON.stringify(s)}`);
  const n = Number(s);
  if (!Number.isFinite(n) || Math.abs(n) > Number.MAX_SAFE_INTEGER)
    throw malformed(`PAX ${what} out of range`);
  return n;
}

function nonNegativeInt(n: number | undefined, what: string): number | undefined {
  if (n !== undefined && (!Number.isInteger(n) || n < 0)) throw malformed(`PAX ${what} is not a size`);
  return n;
}

async function readMeta(q: ByteQueue, size: number, what: string): Promise<Buffer> {
  if (size > MAX_META) throw malformed(`${what} record of ${size} bytes (limit ${MAX_META})`);
  const data = await q.read(size);
  if (data.length < size) throw malformed(`unexpected end of archive inside a ${what} record`);
  await q.skip((BLOCK - (size % BLOCK)) % BLOCK);
  return data;
}

/**
 * Read a tar archive. After the end-of-archive marker the rest of the input is consumed (so a
 * digest-verifying stream upstream sees every byte). EOF exactly at a header boundary is accepted.
 */
export async function* readTar(input: AsyncIterable<unknown>): AsyncGenerator<TarEntry> {
  const q = new ByteQueue(input[Symbol.asyncIterator]());
  let global = new Map<string, Buffer>();
  let local = new Map<string, Buffer>();
  let longName: Buffer | undefined;
  let longLink: Buffer | undefined;
  for (;;) {
    const block = await q.read(BLOCK);
    if (block.length === 0) return;
    if (block.length < BLOCK) throw malformed('unexpected end of archive inside a header');
    if (isZeroBlock(block)) {
      await q.drain();
      return;
    }
    const raw = decodeHeader(block);
    switch (raw.typeflag) {
      case 'x':
        for (const [k, v] of parsePax(await readMeta(q, raw.size, 'PAX'))) local.set(k, v);
        continue;
      case 'g':
        global = new Map([...global, ...parsePax(await readMeta(q, raw.size, 'PAX global'))]);
        continue;
      case 'L':
        longName = cut(await readMeta(q, raw.size, 'GNU long name'));
        continue;
      case 'K':
        longLink = cut(await readMeta(q, raw.size, 'GNU long link'));
        continue;
    }
    const pax = new Map([...global, ...local]);
    const nameBytes = nonEmpty(pax.get('path')) ?? longName ?? raw.name;
    const linkBytes = nonEmpty(pax.get('linkpath')) ?? longLink ?? raw.linkname;
    local = new Map();
    longName = undefined;
    longLink = undefined;
    const name = decodeName(nameBytes);
    const linkname = decodeName(linkBytes);
    let type = tarType(raw.typeflag);
    if (type === 'file' && raw.typeflag !== '7' && name.text.endsWith('/')) type = 'dir';
    const xattrs = new Map<string, Buffer>();
    for (const [k, v] of pax)
      if (k.startsWith('SCHILY.xattr.')) xattrs.set(k.slice('SCHILY.xattr.'.length), v);
    const size = nonNegativeInt(paxNumber(pax.get('size'), 'size'), 'size') ?? raw.size;
    const header: TarHeader = {
      name: name.text,
      linkname: linkname.text,
      utf8: name.ok && linkname.ok,
      type,
      typeflag: raw.typeflag,
      mode: raw.mode & 0o7777,
      uid: nonNegativeInt(paxNumber(pax.get('uid'), 'uid'), 'uid') ?? raw.uid,
      gid: nonNegativeInt(paxNumber(pax.get('gid'), 'gid'), 'gid') ?? raw.gid,
      size,
      mtime: paxNumber(pax.get('mtime'), 'mtime') ?? raw.mtime,
      devmajor: raw.devmajor,
      devminor: raw.devminor,
      xattrs,
      sparse: raw.typeflag === 'S' || [...pax.keys()].some((k) => k.startsWith('GNU.sparse.')),
    };
    const dataSize = isHeaderOnly(type) ? 0 : size;
    let consumed = 0;
    const body: AsyncIterable<Buffer> = {
      async *[Symbol.asyncIterator]() {
        for await (const part of q.stream(dataSize - consumed)) {
          consumed += part.length;
          yield part;
        }
      },
    };
    yield { header, body };
    await q.skip(dataSize - consumed);
    consumed = dataSize;
    await q.skip((BLOCK - (dataSize % BLOCK)) % BLOCK);
  }
}

function cut(b: Buffer): Buffer {
  const nul = b.indexOf(0);
  return nul === -1 ? b : b.subarray(0, nul);
}

function nonEmpty(b: Buffer | undefined): Buffer | undefined {
  return b !== undefined && b.length > 0 ? b : undefined;
}
