/**
 * Several layer tars (bottom first) as one layer, at the tar level: no extraction, so no root and no
 * owners to set. An entry survives unless a layer above replaces it, deletes it (`.wh.name`) or hides it (an
 * opaque directory); whiteouts and opaque markers stay in the result, which is a diff against the same base.
 */
import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import { decompress } from './decompress.js';
import { classifyWhiteout, cleanEntryPath } from './paths.js';
import type { EntryHeader } from './tar-header.js';
import { packLayer, type PackItem, type PackOptions, type WrittenLayer } from './tar-pack.js';
import { readTar, type TarHeader } from './tar-reader.js';
import { noChanges, type BaseLister, type SurvivorInfo } from './squash-base.js';

const clean = (name: string): string | undefined => {
  const c = cleanEntryPath(name);
  return 'path' in c ? c.path : undefined;
};

/** is `path` or one of its parents in `set` */
const under = (path: string, set: Set<string>): boolean => {
  for (let p = path; p !== '.' && p !== ''; p = posix.dirname(p)) if (set.has(p)) return true;
  return false;
};

/** below an opaque dir (the dir itself is kept) */
const inside = (path: string, dirs: Set<string>): boolean => {
  for (let p = posix.dirname(path); p !== '.' && p !== ''; p = posix.dirname(p)) if (dirs.has(p)) return true;
  return dirs.has('') && path !== '';
};

/** which entries of each layer make the result: walk the layers top-down over headers only */
async function survivors(
  blobs: string[],
  exclude: (rel: string) => boolean,
  seen: Map<string, SurvivorInfo>,
): Promise<Array<Set<string>>> {
  const taken = new Set<string>();
  const deleted = new Set<string>();
  const opaque = new Set<string>();
  const keep: Array<Set<string>> = blobs.map(() => new Set());
  for (let i = blobs.length - 1; i >= 0; i--) {
    const ownDeleted: string[] = [];
    const ownOpaque: string[] = [];
    for await (const { header } of readTar(decompress(createReadStream(blobs[i] ?? '')))) {
      const path = clean(header.name);
      if (path === undefined || path === '' || exclude(path) || taken.has(path)) continue;
      const wh = classifyWhiteout(posix.basename(path));
      const dir = posix.dirname(path) === '.' ? '' : posix.dirname(path);
      if (wh.kind === 'meta' || wh.kind === 'invalid') continue;
      if (under(path, deleted) || inside(path, opaque)) continue;
      if (wh.kind === 'whiteout') {
        const target = dir ? `${dir}/${wh.name}` : wh.name;
        ownDeleted.push(target);
        // re-created by a layer above: the entry there replaces the base's anyway
        if (taken.has(target)) continue;
      }
      if (wh.kind === 'opaque') ownOpaque.push(dir);
      taken.add(path);
      keep[i]?.add(path);
      seen.set(path, {
        layer: i,
        kind: wh.kind === 'whiteout' ? 'whiteout' : header.type === 'dir' ? 'dir' : 'other',
        mode: header.mode,
        uid: header.uid,
        gid: header.gid,
      });
    }
    // a layer's deletions apply to the layers below it only
    for (const d of ownDeleted) deleted.add(d);
    for (const d of ownOpaque) opaque.add(d);
  }
  return keep;
}

function entryHeader(
  h: TarHeader,
  path: string,
  sourceDateEpoch: number | undefined,
): EntryHeader | undefined {
  if (h.type === 'other') return undefined;
  const mtime = Math.floor(h.mtime);
  return {
    name: path,
    type: h.type,
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    size: h.type === 'file' ? h.size : 0,
    mtime: sourceDateEpoch === undefined ? mtime : Math.min(mtime, sourceDateEpoch),
    ...(h.linkname ? { linkname: h.type === 'link' ? (clean(h.linkname) ?? h.linkname) : h.linkname } : {}),
    ...(h.type === 'char' || h.type === 'block' ? { devmajor: h.devmajor, devminor: h.devminor } : {}),
    ...(h.xattrs.size > 0 ? { xattrs: [...h.xattrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) } : {}),
  };
}

async function* items(
  blobs: string[],
  keep: Array<Set<string>>,
  opts: PackOptions,
): AsyncGenerator<PackItem> {
  for (const [i, blob] of blobs.entries()) {
    const wanted = keep[i];
    if (!wanted || wanted.size === 0) continue;
    for await (const entry of readTar(decompress(createReadStream(blob)))) {
      const path = clean(entry.header.name);
      if (path === undefined || !wanted.delete(path)) continue;
      const header = entryHeader(entry.header, path, opts.sourceDateEpoch);
      if (header) yield { header, ...(header.type === 'file' ? { body: entry.body } : {}) };
    }
  }
}

/**
 * `blobs` (compressed or not, bottom first) squashed into one layer blob at `outFile`. With `base` (the image
 * the layers apply to), entries that change nothing in it are left out (./squash-base.ts).
 */
export async function squashLayers(
  blobs: string[],
  outFile: string,
  opts: PackOptions,
  base?: BaseLister,
): Promise<WrittenLayer> {
  const exclude = opts.exclude ?? (() => false);
  const seen = new Map<string, SurvivorInfo>();
  const keep = await survivors(blobs, exclude, seen);
  if (base) for (const path of await noChanges(seen, base)) keep[seen.get(path)?.layer ?? -1]?.delete(path);
  return packLayer(items(blobs, keep, opts), outFile, opts.compression, opts.onBytes);
}
