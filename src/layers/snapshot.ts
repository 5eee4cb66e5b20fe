/**
 * Fallback where overlayfs is unavailable: record a tree before the package manager runs, walk it
 * again afterwards and write the difference as the same kind of layer the upperdir writer makes
 * (changed and added entries, `.wh.` for deletions, a replaced directory becomes opaque).
 */
import type { BigIntStats } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { comparePaths, whiteoutPath } from './paths.js';
import { EntryBuilder, packLayer, type PackItem, type PackOptions, type WrittenLayer } from './tar-pack.js';
import { readNames } from './writer.js';
import { readXattrsRecursive } from './xattr.js';

export type SnapshotType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

export interface SnapshotEntry {
  type: SnapshotType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: bigint;
  /** catches metadata-only changes such as a new xattr (setcap) */
  ctimeNs: bigint;
  ino: number;
  rdev: number;
  linkTarget?: string;
}

/** relative path (no leading slash) -> entry; the root itself is not in it */
export type Snapshot = Map<string, SnapshotEntry>;

function typeOf(st: BigIntStats): SnapshotType {
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return 'file';
}

export async function snapshot(
  root: string,
  opts: { exclude?: (relPath: string) => boolean } = {},
): Promise<Snapshot> {
  const snap: Snapshot = new Map();
  async function walk(dirAbs: string, dirRel: string): Promise<void> {
    for (const name of readNames(dirAbs)) {
      const abs = join(dirAbs, name);
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      if (opts.exclude?.(rel)) continue;
      const st = await lstat(abs, { bigint: true });
      const type = typeOf(st);
      const entry: SnapshotEntry = {
        type,
        mode: Number(st.mode & 0o7777n),
        uid: Number(st.uid),
        gid: Number(st.gid),
        size: Number(st.size),
        mtimeNs: st.mtimeNs,
        ctimeNs: st.ctimeNs,
        ino: Number(st.ino),
        rdev: Number(st.rdev),
      };
      if (type === 'symlink') entry.linkTarget = await readlink(abs);
      snap.set(rel, entry);
      if (type === 'dir') await walk(abs, rel);
    }
  }
  await walk(resolve(root), '');
  return snap;
}

export interface DiffPlan {
  /** paths written as entries (changed, added, their parent directories), in entry order */
  entries: string[];
  /** deleted paths that need a `.wh.` entry, in entry order */
  whiteouts: string[];
  /** directories replaced as a whole (written with `.wh..wh..opq`) */
  opaque: Set<string>;
}

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash === -1 ? '' : rel.slice(0, slash);
}

function underAny(rel: string, dirs: Set<string>): boolean {
  for (let p = parentOf(rel); p !== ''; p = parentOf(p)) if (dirs.has(p)) return true;
  return false;
}

function changed(a: SnapshotEntry, b: SnapshotEntry): boolean {
  return (
    a.type !== b.type ||
    a.mode !== b.mode ||
    a.uid !== b.uid ||
    a.gid !== b.gid ||
    a.size !== b.size ||
    a.mtimeNs !== b.mtimeNs ||
    a.ctimeNs !== b.ctimeNs ||
    a.ino !== b.ino ||
    a.rdev !== b.rdev ||
    a.linkTarget !== b.linkTarget
  );
}

/** What a layer must hold to turn `before` into `after` (pure). */
export function diffSnapshots(before: Snapshot, after: Snapshot): DiffPlan {
  const entries = new Set<string>();
  const opaque = new Set<string>();
  for (const [p, a] of after) {
    const b = before.get(p);
    if (!b) entries.add(p);
    else if (a.type === 'dir' && b.type === 'dir' && a.ino !== b.ino) {
      opaque.add(p);
      entries.add(p);
    } else if (changed(a, b)) entries.add(p);
  }
  for (const p of after.keys()) if (underAny(p, opaque)) entries.add(p);
  const whiteouts: string[] = [];
  for (const p of before.keys()) {
    if (after.has(p) || underAny(p, opaque)) continue;
    const parent = parentOf(p);
    // a deleted parent, or one that is no longer a directory, already hides p
    if (parent !== '' && after.get(parent)?.type !== 'dir') continue;
    whiteouts.push(p);
  }
  for (const p of [...entries, ...whiteouts]) {
    for (let a = parentOf(p); a !== '' && !entries.has(a); a = parentOf(a)) entries.add(a);
  }
  return { entries: [...entries].sort(comparePaths), whiteouts: whiteouts.sort(comparePaths), opaque };
}

async function* diffEntries(rootAbs: string, plan: DiffPlan, opts: PackOptions): AsyncGenerator<PackItem> {
  const builder = new EntryBuilder(opts.sourceDateEpoch);
  const xattrs = await readXattrsRecursive(rootAbs);
  // in the order of the names in the tar (a whiteout's is `.wh.<name>`)
  const order = [
    ...plan.entries.map((p) => ({ p, wh: false, key: p })),
    ...plan.whiteouts.map((p) => ({ p, wh: true, key: whiteoutPath(p) })),
  ];
  order.sort((x, y) => comparePaths(x.key, y.key));
  for (const { p, wh } of order) {
    if (wh) {
      const parent = parentOf(p);
      yield builder.whiteout(p, await lstat(parent === '' ? rootAbs : join(rootAbs, parent)));
      continue;
    }
    const abs = join(rootAbs, p);
    const st = await lstat(abs);
    const item = builder.item(abs, p, st, xattrs.get(abs));
    if (!item) continue;
    yield item;
    if (plan.opaque.has(p)) yield builder.opaque(p, st);
  }
}

/** `rel` or one of its parent directories is excluded. */
function excluded(rel: string, exclude: (relPath: string) => boolean): boolean {
  for (let p = rel; p !== ''; p = parentOf(p)) if (exclude(p)) return true;
  return false;
}

/** Write the changes made to `root` since `before` was taken as a layer blob. */
export async function writeDiffLayer(
  root: string,
  before: Snapshot,
  outFile: string,
  opts: PackOptions,
): Promise<WrittenLayer> {
  const rootAbs = resolve(root);
  const after = await snapshot(rootAbs, opts.exclude ? { exclude: opts.exclude } : {});
  const exclude = opts.exclude;
  const kept = exclude ? new Map([...before].filter(([p]) => !excluded(p, exclude))) : before;
  const plan = diffSnapshots(kept, after);
  return packLayer(diffEntries(rootAbs, plan, opts), outFile, opts.compression, opts.onBytes);
}
