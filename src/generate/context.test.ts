import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../log.js';
import { BLOCK, encodeHeader, padding, type EntryHeader } from '../layers/tar-header.js';
import { readTar } from '../layers/tar-reader.js';
import { buildContext, dockerfile } from './context.js';

type Item = Partial<EntryHeader> & { name: string; data?: string };

function layerTar(items: Item[]): Buffer {
  const parts: Buffer[] = [];
  for (const it of items) {
    const data = Buffer.from(it.data ?? '');
    const { data: _ignored, ...rest } = it;
    parts.push(
      encodeHeader({
        type: 'file',
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: 1_700_000_000,
        ...rest,
        size: it.type === undefined || it.type === 'file' ? data.length : 0,
      }),
    );
    if (data.length > 0) parts.push(data, padding(data.length));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

function chunks(buf: Buffer, size = 700): AsyncIterable<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts);
}

interface Out {
  name: string;
  type: string;
  linkname: string;
  mode: number;
  uid: number;
  gid: number;
  data: string;
  xattrs: Record<string, string>;
}

function recorder(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    logger: { debug: () => undefined, info: () => undefined, warn: (m) => warnings.push(m) },
  };
}

async function contextOf(items: Item[], logger?: Logger): Promise<Out[]> {
  const parts: Buffer[] = [];
  for await (const b of buildContext(chunks(layerTar(items)), {
    image: '127.0.0.1:5000/debian:12',
    created: '2026-01-02T03:04:05Z',
    ...(logger ? { logger } : {}),
  }))
    parts.push(b);
  const out: Out[] = [];
  for await (const { header, body } of readTar(chunks(Buffer.concat(parts), 333))) {
    const data: Buffer[] = [];
    for await (const c of body) data.push(c);
    out.push({
      name: header.name,
      type: header.type,
      linkname: header.linkname,
      mode: header.mode,
      uid: header.uid,
      gid: header.gid,
      data: Buffer.concat(data).toString(),
      xattrs: Object.fromEntries([...header.xattrs].map(([k, v]) => [k, v.toString('hex')])),
    });
  }
  return out;
}

describe('copa generate build context', () => {
  it('Dockerfile: FROM the image, COPY patch/ /, the patched label', () => {
    expect(dockerfile('nginx:1.25', '2026-01-02T03:04:05Z')).toBe(
      'FROM nginx:1.25\nCOPY patch/ /\nLABEL sh.copa.image.patched="2026-01-02T03:04:05Z"\n',
    );
  });

  it('re-roots files, dirs and symlinks under patch/, keeping modes, owners, xattrs and contents', async () => {
    const long = `usr/share/${'d'.repeat(120)}/${'f'.repeat(90)}`;
    const out = await contextOf([
      { name: './', type: 'dir', mode: 0o755 },
      { name: 'etc/', type: 'dir', mode: 0o755 },
      { name: 'etc/shadow', mode: 0o640, gid: 42, data: 'root:*:\n' },
      {
        name: 'usr/bin/ping',
        mode: 0o4755,
        data: 'ELF',
        xattrs: [['security.capability', Buffer.from([1, 0, 0, 2])]],
      },
      { name: 'usr/lib/libssl.so.3', type: 'symlink', linkname: 'libssl.so.3.0.22', mode: 0o777 },
      { name: long, data: 'x' },
    ]);
    expect(out.map((e) => [e.name, e.type])).toEqual([
      ['Dockerfile', 'file'],
      ['patch/', 'dir'],
      ['patch/etc/', 'dir'],
      ['patch/etc/shadow', 'file'],
      ['patch/usr/bin/ping', 'file'],
      ['patch/usr/lib/libssl.so.3', 'symlink'],
      [`patch/${long}`, 'file'],
    ]);
    expect(out[0]!.data).toContain('FROM 127.0.0.1:5000/debian:12\n');
    expect(out[3]).toMatchObject({ mode: 0o640, gid: 42, data: 'root:*:\n' });
    expect(out[4]).toMatchObject({ mode: 0o4755, xattrs: { 'security.capability': '01000002' } });
    expect(out[5]!.linkname).toBe('libssl.so.3.0.22');
    expect(out[6]!.data).toBe('x');
  });

  it('hardlinks within the layer stay links inside patch/; others are left out with a warning', async () => {
    const { logger, warnings } = recorder();
    const out = await contextOf(
      [
        { name: 'usr/bin/a', data: 'same' },
        { name: 'usr/bin/b', type: 'link', linkname: 'usr/bin/a' },
        { name: 'usr/bin/c', type: 'link', linkname: 'usr/bin/in-a-lower-layer' },
      ],
      logger,
    );
    expect(out.slice(2).map((e) => [e.name, e.type, e.linkname])).toEqual([
      ['patch/usr/bin/a', 'file', ''],
      ['patch/usr/bin/b', 'link', 'patch/usr/bin/a'],
    ]);
    expect(warnings).toEqual([
      expect.stringMatching(/^1 hardlinks to files outside the patch layer .*\/usr\/bin\/c$/),
    ]);
  });

  it('deletions, opaque directories and device nodes cannot be expressed by COPY: left out, one warning per kind', async () => {
    const { logger, warnings } = recorder();
    const out = await contextOf(
      [
        { name: 'etc/', type: 'dir', mode: 0o755 },
        { name: 'etc/.wh.old.conf', mode: 0 },
        { name: 'usr/share/doc/pkg/', type: 'dir', mode: 0o755 },
        { name: 'usr/share/doc/pkg/.wh..wh..opq', mode: 0 },
        { name: 'usr/share/doc/pkg/README', data: 'new' },
        { name: 'var/.wh.gone', mode: 0 },
        { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3 },
        { name: '.wh..wh.plnk', mode: 0 },
      ],
      logger,
    );
    expect(out.map((e) => e.name)).toEqual([
      'Dockerfile',
      'patch/',
      'patch/etc/',
      'patch/usr/share/doc/pkg/',
      'patch/usr/share/doc/pkg/README',
    ]);
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(
      /^2 deletions \(whiteouts\) cannot be expressed by COPY and are left out of the build context: \/etc\/old\.conf, \/var\/gone$/,
    );
    expect(warnings[1]).toMatch(/replaced directories .*\/usr\/share\/doc\/pkg$/);
    expect(warnings[2]).toMatch(/device nodes.*\/dev\/null$/);
  });

  it('an entry that climbs out of the layer is refused', async () => {
    await expect(contextOf([{ name: '../../etc/passwd', data: 'x' }])).rejects.toThrow(
      /path escapes the layer root/,
    );
    await expect(
      contextOf([
        { name: 'a', data: 'x' },
        { name: 'b', type: 'link', linkname: '../../a' },
      ]),
    ).rejects.toThrow(/hardlink target/);
  });
});
