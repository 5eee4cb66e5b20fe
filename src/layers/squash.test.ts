import { mkdtemp, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decompress } from './decompress.js';
import { squashLayers } from './squash.js';
import type { EntryHeader } from './tar-header.js';
import { packLayer, type PackItem } from './tar-pack.js';
import { readTar } from './tar-reader.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'copa-squash-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const h = (name: string, type: EntryHeader['type'], extra: Partial<EntryHeader> = {}): EntryHeader => ({
  name,
  type,
  mode: type === 'dir' ? 0o755 : 0o644,
  uid: 0,
  gid: 0,
  size: 0,
  mtime: 1000,
  ...extra,
});
const file = (name: string, text: string, extra: Partial<EntryHeader> = {}): PackItem => ({
  header: h(name, 'file', { size: Buffer.byteLength(text), ...extra }),
  body: [Buffer.from(text)],
});

let n = 0;
async function layer(items: PackItem[], compression: 'gzip' | 'none' = 'gzip'): Promise<string> {
  return (await packLayer(items, join(dir, `l${++n}`), compression)).path;
}

async function contents(blob: string): Promise<Array<[string, string, string]>> {
  const out: Array<[string, string, string]> = [];
  for await (const e of readTar(decompress(createReadStream(blob)))) {
    const chunks: Buffer[] = [];
    for await (const c of e.body) chunks.push(c);
    out.push([e.header.name.replace(/\/$/, ''), e.header.type, Buffer.concat(chunks).toString()]);
  }
  return out;
}

describe('squashing layer tars into one', () => {
  it('upper entries replace lower ones; whiteouts and opaque dirs hide what is below; markers stay', async () => {
    const bottom = await layer([
      { header: h('etc', 'dir') },
      file('etc/a', 'old a'),
      file('etc/gone', 'added then deleted'),
      { header: h('opt', 'dir') },
      file('opt/x', 'hidden by opaque'),
      file('var/log/apt/history.log', 'left out'),
    ]);
    const top = await layer(
      [
        file('etc/a', 'new a', { uid: 7 }),
        file('etc/.wh.gone', ''),
        { header: h('opt', 'dir', { mode: 0o700 }) },
        file('opt/.wh..wh..opq', ''),
        file('opt/y', 'new in opaque dir'),
      ],
      'none',
    );
    const out = await squashLayers([bottom, top], join(dir, 'out'), {
      compression: 'gzip',
      exclude: (rel) => rel === 'var/log/apt' || rel.startsWith('var/log/apt/'),
    });
    const got = await contents(out.path);
    expect(got).toEqual([
      ['etc', 'dir', ''],
      ['etc/a', 'file', 'new a'],
      ['etc/.wh.gone', 'file', ''],
      ['opt', 'dir', ''],
      ['opt/.wh..wh..opq', 'file', ''],
      ['opt/y', 'file', 'new in opaque dir'],
    ]);
    expect(out.diffID).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('a deletion in a layer applies below it only; mtimes are clamped to SOURCE_DATE_EPOCH', async () => {
    const one = await layer([file('f', 'first')]);
    const two = await layer([file('.wh.f', '')]);
    const three = await layer([file('f', 'again', { mtime: 5000 })]);
    const out = await squashLayers([one, two, three], join(dir, 'out2'), {
      compression: 'gzip',
      sourceDateEpoch: 2000,
    });
    const entries: Array<[string, number]> = [];
    for await (const e of readTar(decompress(createReadStream(out.path))))
      entries.push([e.header.name, e.header.mtime]);
    // the re-added file wins; the whiteout between is superseded by it
    expect(entries).toEqual([['f', 2000]]);
    expect(await contents(out.path)).toEqual([['f', 'file', 'again']]);
  });
});
