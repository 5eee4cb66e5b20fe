import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { makeTar } from '../../test/helpers/tar.js';
import {
  decodeHeader,
  encodeHeader,
  encodePax,
  parsePax,
  splitUstarName,
  type EntryHeader,
} from './tar-header.js';
import { readTar, type TarHeader } from './tar-reader.js';

async function readAll(tar: Buffer | Buffer[]): Promise<{ h: TarHeader; body: string }[]> {
  const out: { h: TarHeader; body: string }[] = [];
  const chunks = Array.isArray(tar) ? tar : [tar];
  for await (const e of readTar(Readable.from(chunks))) {
    const parts: Buffer[] = [];
    for await (const b of e.body) parts.push(b);
    out.push({ h: e.header, body: Buffer.concat(parts).toString('latin1') });
  }
  return out;
}

function encodeAll(entries: { h: EntryHeader; body?: string }[]): Buffer {
  const parts: Buffer[] = [];
  for (const { h, body } of entries) {
    parts.push(encodeHeader(h));
    if (body) parts.push(Buffer.from(body), Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  return Buffer.concat([...parts, Buffer.alloc(1024)]);
}

const cap = Buffer.from([1, 0, 0, 2, 0x80, 0x20, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0, 0, 0, 0, 0]);

describe('tar codec', () => {
  it('round-trips every entry type, long names, big ids and binary xattrs', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}/ünïcode-${'x'.repeat(50)}`;
    const entries: { h: EntryHeader; body?: string }[] = [
      { h: { name: 'etc', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 1 } },
      {
        h: {
          name: 'etc/f',
          type: 'file',
          mode: 0o4755,
          uid: 1,
          gid: 2,
          size: 5,
          mtime: 2,
          xattrs: [['security.capability', cap]],
        },
        body: 'hello',
      },
      {
        h: {
          name: 'etc/l',
          type: 'symlink',
          mode: 0o777,
          uid: 0,
          gid: 0,
          size: 0,
          mtime: 3,
          linkname: `/${'t'.repeat(150)}`,
        },
      },
      {
        h: { name: 'etc/h', type: 'link', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 4, linkname: 'etc/f' },
      },
      {
        h: { name: long, type: 'file', mode: 0o600, uid: 3_000_000, gid: 70_000_000, size: 1, mtime: 5 },
        body: 'z',
      },
      {
        h: {
          name: 'dev/null',
          type: 'char',
          mode: 0o666,
          uid: 0,
          gid: 0,
          size: 0,
          mtime: 6,
          devmajor: 1,
          devminor: 3,
        },
      },
      { h: { name: 'p', type: 'fifo', mode: 0o600, uid: 0, gid: 0, size: 0, mtime: 7 } },
    ];
    const got = await readAll(encodeAll(entries));
    expect(got.map((e) => [e.h.name, e.h.type, e.body])).toEqual([
      ['etc/', 'dir', ''],
      ['etc/f', 'file', 'hello'],
      ['etc/l', 'symlink', ''],
      ['etc/h', 'link', ''],
      [long, 'file', 'z'],
      ['dev/null', 'char', ''],
      ['p', 'fifo', ''],
    ]);
    expect(got[1]?.h.mode).toBe(0o4755);
    expect(got[1]?.h.xattrs.get('security.capability')).toEqual(cap);
    expect(got[2]?.h.linkname).toBe(`/${'t'.repeat(150)}`);
    expect(got[4]?.h).toMatchObject({ uid: 3_000_000, gid: 70_000_000, utf8: true });
    expect(got[5]?.h).toMatchObject({ devmajor: 1, devminor: 3 });
  });

  it('splits ustar names at a slash when they fit', () => {
    expect(splitUstarName('a/b')).toEqual({ prefix: '', name: 'a/b' });
    const n = `${'p'.repeat(150)}/${'n'.repeat(90)}`;
    expect(splitUstarName(n)).toEqual({ prefix: 'p'.repeat(150), name: 'n'.repeat(90) });
    expect(splitUstarName('q'.repeat(101))).toBeUndefined();
    expect(splitUstarName('é')).toBeUndefined();
  });

  it('parses and writes PAX records byte-exactly (the length counts itself)', () => {
    const data = encodePax([
      ['path', Buffer.from('x'.repeat(91))],
      ['SCHILY.xattr.user.b', Buffer.from([0, 0x0a, 0xff])],
    ]);
    expect(data.toString('latin1').startsWith('101 path=')).toBe(true);
    const m = parsePax(data);
    expect(m.get('path')?.toString()).toBe('x'.repeat(91));
    expect(m.get('SCHILY.xattr.user.b')).toEqual(Buffer.from([0, 0x0a, 0xff]));
    expect(() => parsePax(Buffer.from('99 path=x\n'))).toThrow(/PAX record length/);
    expect(() => parsePax(Buffer.from('abc'))).toThrow(/malformed tar/);
  });

  it('reads bodies split across tiny chunks and skips unread bodies', async () => {
    const tar = makeTar([
      { name: 'a', body: 'A'.repeat(700) },
      { name: 'b', body: 'B'.repeat(3) },
    ]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < tar.length; i += 7) chunks.push(tar.subarray(i, i + 7));
    expect((await readAll(chunks)).map((e) => e.body.length)).toEqual([700, 3]);
    const names: string[] = [];
    for await (const e of readTar(Readable.from([tar]))) names.push(e.header.name); // bodies never read
    expect(names).toEqual(['a', 'b']);
  });

  it('applies GNU long names, PAX globals, old-style dirs, and flags bad UTF-8', async () => {
    const longName = 'L'.repeat(300);
    const tar = makeTar([
      { name: '././@LongLink', typeflag: 'L', body: `${longName}\0` },
      { name: 'short', body: 'x' },
      { name: 'olddir/', typeflag: '0' },
      { name: Buffer.from([0x66, 0xff, 0x66]) },
      { name: 'p', pax: { path: 'from-pax', mtime: '1700000000.5', 'SCHILY.xattr.user.k': 'v' } },
    ]);
    const got = await readAll(tar);
    expect(got.map((e) => [e.h.name, e.h.type, e.h.utf8])).toEqual([
      [longName, 'file', true],
      ['olddir/', 'dir', true],
      ['f\ufffdf', 'file', false],
      ['from-pax', 'file', true],
    ]);
    expect(got[3]?.h.mtime).toBe(1700000000.5);
    expect(got[3]?.h.xattrs.get('user.k')?.toString()).toBe('v');
  });

  it('refuses corrupt archives clearly', async () => {
    const tar = makeTar([{ name: 'a', body: 'abc' }]);
    const bad = Buffer.from(tar);
    bad[10] = 0x41; // breaks the checksum
    await expect(readAll(bad)).rejects.toThrow(/checksum/);
    await expect(readAll(tar.subarray(0, 514))).rejects.toThrow(/end of archive inside an entry/);
    await expect(readAll(tar.subarray(0, 300))).rejects.toThrow(/inside a header/);
    const hugePax = makeTar([{ name: 'x', typeflag: 'x', body: Buffer.alloc(2 << 20, 0x31) }]);
    await expect(readAll(hugePax)).rejects.toThrow(/limit/);
    // EOF at a header boundary (no end marker) is accepted, as Go's archive/tar does
    expect(await readAll(tar.subarray(0, 1024))).toHaveLength(1);
  });

  it('decodes GNU base-256 numbers', () => {
    const block = Buffer.from(makeTar([{ name: 'big', uid: 1 }]).subarray(0, 512));
    block.fill(0, 108, 116);
    block[108] = 0x80;
    block.writeUInt32BE(5_000_000_000 % 2 ** 32, 112);
    block[111] = Math.floor(5_000_000_000 / 2 ** 32);
    block.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of block) sum += b;
    block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    expect(decodeHeader(block).uid).toBe(5_000_000_000);
  });
});
