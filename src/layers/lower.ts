/**
 * What an overlay's lower layers show at a path, read from the extracted layer directories the way
 * overlayfs would merge them (top layer first): a whiteout (char device 0/0) or a non-directory
 * hides the path in the layers below, a directory marked `trusted.overlay.opaque=y` hides what the
 * layers below hold inside it. The layer writer uses it to leave out copy-ups that changed nothing.
 */
import { lstatSync, readSync, openSync, closeSync, constants, type Stats } from 'node:fs';
import { join } from 'node:path';
import { isPortableXattr, type Xattrs } from './xattr.js';
import { layerXattrs } from './xattr-index.js';
import { ovlXattr } from './ovl.js';

type DirState = 'dir' | 'opaque' | 'absent' | 'hides';

export interface LowerEntry {
  abs: string;
  st: Stats;
  xattrs: Xattrs | undefined;
}

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

class LayerDir {
  private readonly states = new Map<string, DirState>();

  constructor(
    readonly dir: string,
    /** absolute path -> xattrs, everything in this layer that has any */
    readonly xattrs: Map<string, Xattrs>,
  ) {}

  state(rel: string): DirState {
    let s = this.states.get(rel);
    if (s === undefined) {
      const abs = join(this.dir, rel);
      const st = lstatSync(abs, { throwIfNoEntry: false });
      if (!st) s = 'absent';
      else if (!st.isDirectory()) s = 'hides';
      else s = this.xattrs.get(abs)?.get(ovlXattr('opaque'))?.toString() === 'y' ? 'opaque' : 'dir';
      this.states.set(rel, s);
    }
    return s;
  }
}

export class LowerView {
  private layers: LayerDir[] | undefined;

  /** `dirs`: extracted layers in overlay form, top layer first (overlayfs' lowerdir order) */
  constructor(private readonly dirs: readonly string[]) {}

  private async load(): Promise<LayerDir[]> {
    this.layers ??= await Promise.all(this.dirs.map(async (d) => new LayerDir(d, await layerXattrs(d))));
    return this.layers;
  }

  /** Read the layers' extended attributes (a cache layer's index, else one getfattr); call before lookup(). */
  async open(): Promise<this> {
    await this.load();
    return this;
  }

  /** The entry the lower layers show at `rel` (no leading slash), or undefined when there is none. */
  lookup(rel: string): LowerEntry | undefined {
    if (!this.layers) throw new Error('LowerView.open() first');
    const parents: string[] = [];
    for (let i = rel.indexOf('/'); i !== -1; i = rel.indexOf('/', i + 1)) parents.push(rel.slice(0, i));
    for (const layer of this.layers) {
      let absent = false;
      let opaque = false;
      for (const p of parents) {
        const s = layer.state(p);
        if (s === 'absent') {
          absent = true;
          break;
        }
        if (s === 'hides') return undefined;
        if (s === 'opaque') opaque = true;
      }
      if (!absent) {
        const abs = join(layer.dir, rel);
        const st = lstatSync(abs, { throwIfNoEntry: false });
        if (st) return isWhiteout(st) ? undefined : { abs, st, xattrs: layer.xattrs.get(abs) };
      }
      if (opaque) return undefined;
    }
    return undefined;
  }
}

function portable(x: Xattrs | undefined): string {
  return [...(x ?? [])]
    .filter(([n]) => isPortableXattr(n))
    .map(([n, v]) => `${n}=${v.toString('base64')}`)
    .sort()
    .join('\n');
}

/** Same type, permission bits, owner and portable xattrs (times are not compared). */
export function sameMeta(a: Stats, ax: Xattrs | undefined, b: Stats, bx: Xattrs | undefined): boolean {
  return (
    (a.mode & 0o170000) === (b.mode & 0o170000) &&
    (a.mode & 0o7777) === (b.mode & 0o7777) &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    portable(ax) === portable(bx)
  );
}

const CHUNK = 1 << 20;

/** Two regular files of the same size hold the same bytes. */
export function sameContent(a: string, b: string, size: number): boolean {
  const fa = openSync(a, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const fb = openSync(b, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const ba = Buffer.allocUnsafe(Math.min(size, CHUNK) || 1);
      const bb = Buffer.allocUnsafe(ba.length);
      for (let left = size; left > 0;) {
        const na = readSync(fa, ba, 0, Math.min(left, ba.length), null);
        const nb = readSync(fb, bb, 0, na, null);
        if (na === 0 || na !== nb || !ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
        left -= na;
      }
      return true;
    } finally {
      closeSync(fb);
    }
  } finally {
    closeSync(fa);
  }
}
