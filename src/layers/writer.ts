/**
 * Turn an overlayfs upperdir into an OCI layer: entries in path order (parents first), a char
 * device 0/0 becomes a `.wh.<name>` whiteout, a directory with trusted.overlay.opaque=y gets a
 * `.wh..wh..opq` marker right after it, xattrs become PAX `SCHILY.xattr.*` records (all but
 * `trusted.overlay.*`), a second name of an inode becomes a hardlink entry. Same tree -> same bytes.
 */
import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { CopaError } from '../errors.js';
import { silentLogger } from '../log.js';
import { WHITEOUT_PREFIX } from './paths.js';
import { EntryBuilder, packLayer, type PackItem, type PackOptions, type WrittenLayer } from './tar-pack.js';
import { readXattrsRecursive, type Xattrs } from './xattr.js';
import { LowerView, sameContent, sameMeta } from './lower.js';
import { ovlXattr } from './ovl.js';

export type { WrittenLayer } from './tar-pack.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The names in a directory, in byte order. Names that are not UTF-8 cannot be carried through
 * Node's string paths: refused clearly rather than written wrong.
 */
export function readNames(dir: string): string[] {
  const raw = readdirSync(dir, { encoding: 'buffer' });
  raw.sort((a, b) => Buffer.compare(a, b));
  return raw.map((b) => {
    try {
      return utf8.decode(b);
    } catch {
      throw new CopaError(
        'INTERNAL',
        `${dir} holds a file whose name is not valid UTF-8 (${b.toString('hex')})`,
        {
          hint: 'copa cannot write such names into a layer yet; please report which package created it',
        },
      );
    }
  });
}

function isWhiteoutDevice(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** Refuse an upperdir that relies on overlayfs features we mount without (see DESIGN.md). */
function checkSelfContained(abs: string, xattrs: Xattrs | undefined): void {
  for (const name of [ovlXattr('redirect'), ovlXattr('metacopy')]) {
    if (xattrs?.has(name)) {
      throw new CopaError(
        'ENVIRONMENT',
        `${abs} carries ${name}: the upper directory is not self-contained`,
        {
          hint: 'mount the overlay with redirect_dir=off,metacopy=off,index=off',
        },
      );
    }
  }
}

/**
 * The entries of an upperdir, in tar order. With the lower layers given, an object overlayfs copied
 * up without changing it (same type, mode, owner, xattrs and bytes or link target as the lower
 * one: dpkg rewriting an identical file, a lock file opened for writing) is left out, and so is a
 * directory left with nothing to carry; files with several names and anything under an opaque
 * directory are always kept.
 */
function upperEntries(
  upperdir: string,
  xattrs: Map<string, Xattrs>,
  opts: PackOptions,
  lower: LowerView | undefined,
): PackItem[] {
  const builder = new EntryBuilder(opts.sourceDateEpoch);
  const logger = opts.logger ?? silentLogger;
  let dropped = 0;
  const unchanged = (abs: string, rel: string, st: Stats, xa: Xattrs | undefined): boolean => {
    if (!lower || !(st.isFile() || st.isSymbolicLink()) || st.nlink > 1) return false;
    const low = lower.lookup(rel);
    if (!low || !sameMeta(st, xa, low.st, low.xattrs)) return false;
    if (st.isSymbolicLink()) return readlinkSync(abs) === readlinkSync(low.abs);
    return st.size === low.st.size && sameContent(abs, low.abs, st.size);
  };
  /** the items of `dirAbs`'s children (and their subtrees); `keepAll` under an opaque directory */
  function walk(dirAbs: string, dirRel: string, keepAll: boolean): PackItem[] {
    const children: { name: string; key: string; st: Stats }[] = [];
    for (const name of readNames(dirAbs)) {
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      if (opts.exclude?.(rel)) continue;
      const st = lstatSync(join(dirAbs, name));
      // entries are ordered by the name they get in the tar (a whiteout's is `.wh.<name>`)
      children.push({ name, key: isWhiteoutDevice(st) ? `${WHITEOUT_PREFIX}${name}` : name, st });
    }
    children.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    const out: PackItem[] = [];
    for (const { name, st } of children) {
      const abs = join(dirAbs, name);
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      const xa = xattrs.get(abs);
      checkSelfContained(abs, xa);
      if (isWhiteoutDevice(st)) {
        out.push(builder.whiteout(rel, st));
        continue;
      }
      if (st.isDirectory()) {
        const opaque = xa?.get(ovlXattr('opaque'))?.toString() === 'y';
        const inner = walk(abs, rel, keepAll || opaque);
        const low = lower && !keepAll && !opaque && inner.length === 0 ? lower.lookup(rel) : undefined;
        if (low?.st.isDirectory() && sameMeta(st, xa, low.st, low.xattrs)) {
          dropped++;
          continue;
        }
        out.push(builder.item(abs, rel, st, xa) as PackItem);
        // the opaque marker comes right after its directory, before any sibling inside it
        if (opaque) out.push(builder.opaque(rel, st));
        out.push(...inner);
        continue;
      }
      if (!keepAll && unchanged(abs, rel, st, xa)) {
        dropped++;
        continue;
      }
      const item = builder.item(abs, rel, st, xa);
      if (!item) {
        logger.debug(`layer: leaving out ${rel} (a socket)`);
        continue;
      }
      out.push(item);
    }
    return out;
  }
  const items = walk(upperdir, '', false);
  if (dropped > 0) logger.debug(`layer: left out ${dropped} unchanged copy-up(s)`);
  return items;
}

export interface WriteLayerOptions extends PackOptions {
  /** the layers under the upperdir, top first: copy-ups identical to them are left out */
  lowerdirs?: readonly string[];
}

export async function writeLayer(
  upperdir: string,
  outFile: string,
  opts: WriteLayerOptions,
): Promise<WrittenLayer> {
  const dir = resolve(upperdir);
  // one getfattr per tree, all at once
  const [xattrs, lower] = await Promise.all([
    readXattrsRecursive(dir),
    opts.lowerdirs ? new LowerView(opts.lowerdirs).open() : undefined,
  ]);
  return packLayer(upperEntries(dir, xattrs, opts, lower), outFile, opts.compression, opts.onBytes);
}
