import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkAsync } from '../../test/helpers/fc.js';
import { makeTar, type TarSpec } from '../../test/helpers/tar.js';
import { CopaError } from '../errors.js';
import { encodeHeader, padding, type EntryHeader } from './tar-header.js';
import { readTar } from './tar-reader.js';

// Property tests of the streaming tar reader (fast-check; seed and size from test/helpers/fc.ts): archives
// from the independent test writer and from our own encoder read back entry for entry, however the bytes are
// chunked; damaged archives end in entries or one CopaError('UNSAFE_LAYER'), never another error.

interface Read {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string;
  body: string;
}

async function readAll(chunks: Buffer[]): Promise<Read[]> {
  const out: Read[] = [];
  for await (const e of readTar(Readable.from(chunks))) {
    const parts: Buffer[] = [];
    for await (const b of e.body) parts.push(b);
    const h = e.header;
    const body = Buffer.concat(parts).toString('base64');
    out.push({ ...pick(h), body });
  }
  return out;
}

function pick(h: Omit<Read, 'body'>): Omit<Read, 'body'> {
  return {
    name: h.name,
    type: h.type,
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    mtime: h.mtime,
    linkname: h.linkname,
  };
}

/** Cut `buf` at the given points (any order, any count): the reader must not care where chunks end. */
function chunked(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of [...points, buf.length]) {
    out.push(buf.subarray(at, p));
    at = p;
  }
  return out;
}

const segment = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
const unicodeSegment = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 6 })
  .filter((s) => !/[/\0]/.test(s));
const shortName = fc
  .array(segment, { minLength: 1, maxLength: 5 })
  .map((p) => p.join('/'))
  .filter((n) => n.length <= 99);
const longName = fc
  .array(fc.oneof(segment, unicodeSegment), { minLength: 1, maxLength: 30 })
  .map((p) => p.join('/'))
  .filter(
    (n) => n !== '' && Buffer.byteLength(n) < 4000 && !n.split('/').some((s) => s === '.' || s === '..'),
  );

const common = {
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: fc.integer({ min: 0, max: 0o7777777 }),
  gid: fc.integer({ min: 0, max: 0o7777777 }),
  mtime: fc.integer({ min: 0, max: 0o77777777777 }),
};

/** Entries for the independent writer (ustar names up to 99 bytes). */
const helperEntry = fc.oneof(
  fc.record({
    name: shortName,
    type: fc.constant('file' as const),
    body: fc.uint8Array({ maxLength: 1500 }),
    ...common,
  }),
  fc.record({ name: shortName, type: fc.constant('dir' as const), ...common }),
  fc.record({
    name: shortName,
    type: fc.constantFrom('symlink' as const, 'link' as const),
    linkname: shortName,
    ...common,
  }),
);

/** Entries for our encoder: long and non-ASCII names, big ids (PAX and base-256), xattrs. */
const ourEntry = fc
  .record({
    name: longName,
    type: fc.constantFrom('file' as const, 'dir' as const, 'symlink' as const),
    body: fc.uint8Array({ maxLength: 1500 }),
    linkname: longName,
    mode: common.mode,
    uid: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    gid: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    mtime: fc.integer({ min: 0, max: 2 ** 33 }),
    xattrs: fc.array(fc.tuple(fc.stringMatching(/^user\.[a-z]{1,8}$/), fc.uint8Array({ maxLength: 40 })), {
      maxLength: 2,
    }),
  })
  .map((e) => ({
    header: {
      name: e.name,
      type: e.type,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      size: e.type === 'file' ? e.body.length : 0,
      mtime: e.mtime,
      ...(e.type === 'symlink' ? { linkname: e.linkname } : {}),
      xattrs: [...new Map(e.xattrs.map(([k, v]) => [k, Buffer.from(v)])).entries()],
    } satisfies EntryHeader,
    body: e.type === 'file' ? Buffer.from(e.body) : Buffer.alloc(0),
  }));

function encodeOurs(entries: { header: EntryHeader; body: Buffer }[]): Buffer {
  const parts = entries.flatMap((e) => [encodeHeader(e.header), e.body, padding(e.body.length)]);
  return Buffer.concat([...parts, Buffer.alloc(1024)]);
}

const cuts = fc.array(fc.nat(), { maxLength: 8 });

describe('readTar (property)', () => {
  it('reads back what the independent test writer wrote, however the bytes are chunked', async () => {
    await checkAsync(
      fc.asyncProperty(fc.array(helperEntry, { maxLength: 8 }), cuts, async (entries, at) => {
        const tar = makeTar(
          entries.map((e): TarSpec => ({ ...e, body: 'body' in e ? Buffer.from(e.body) : undefined })),
        );
        const got = await readAll(chunked(tar, at));
        expect(got).toEqual(
          entries.map((e) => ({
            name: e.name,
            type: e.type,
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
            mtime: e.mtime,
            linkname: 'linkname' in e ? e.linkname : '',
            body: 'body' in e ? Buffer.from(e.body).toString('base64') : '',
          })),
        );
      }),
    );
  });

  it('reads back what our encoder wrote: long UTF-8 names, big ids and times, xattrs', async () => {
    await checkAsync(
      fc.asyncProperty(fc.array(ourEntry, { maxLength: 6 }), cuts, async (entries, at) => {
        const tar = encodeOurs(entries);
        const seen: {
          name: string;
          linkname: string;
          uid: number;
          gid: number;
          mtime: number;
          xattrs: string[];
          body: string;
        }[] = [];
        for await (const e of readTar(Readable.from(chunked(tar, at)))) {
          const parts: Buffer[] = [];
          for await (const b of e.body) parts.push(b);
          const h = e.header;
          const xattrs = [...h.xattrs].map(([k, v]) => `${k}=${v.toString('hex')}`);
          seen.push({
            name: h.name,
            linkname: h.linkname,
            uid: h.uid,
            gid: h.gid,
            mtime: h.mtime,
            xattrs,
            body: Buffer.concat(parts).toString('hex'),
          });
        }
        expect(seen).toEqual(
          entries.map(({ header: h, body }) => ({
            name: h.type === 'dir' ? h.name.replace(/\/?$/, '/') : h.name,
            linkname: h.linkname ?? '',
            uid: h.uid,
            gid: h.gid,
            mtime: h.mtime,
            xattrs: (h.xattrs ?? []).map(([k, v]) => `${k}=${v.toString('hex')}`),
            body: body.toString('hex'),
          })),
        );
      }),
    );
  });

  it('damaged archives: entries or one CopaError UNSAFE_LAYER, never another error', async () => {
    const damage = fc.oneof(
      fc.record({
        kind: fc.constant('flip' as const),
        at: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
        byte: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({
        kind: fc.constant('cut' as const),
        at: fc.array(fc.nat(), { minLength: 1, maxLength: 1 }),
        byte: fc.constant(0),
      }),
    );
    await checkAsync(
      fc.asyncProperty(fc.array(helperEntry, { minLength: 1, maxLength: 5 }), damage, async (entries, d) => {
        const tar = Buffer.from(
          makeTar(
            entries.map((e): TarSpec => ({ ...e, body: 'body' in e ? Buffer.from(e.body) : undefined })),
          ),
        );
        let bad: Buffer;
        if (d.kind === 'cut') bad = tar.subarray(0, (d.at[0] ?? 0) % tar.length);
        else {
          bad = tar;
          for (const a of d.at) bad[a % bad.length] = d.byte;
        }
        try {
          await readAll([bad]);
        } catch (e) {
          expect(e).toBeInstanceOf(CopaError);
          expect((e as CopaError).code).toBe('UNSAFE_LAYER');
        }
      }),
      2,
    );
  });
});
