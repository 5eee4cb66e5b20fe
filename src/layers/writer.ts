/**
 * Turn an overlayfs upperdir into an OCI layer: entries in path order (parents first), a char
 * device 0/0 becomes a `.wh.<name>` whiteout, a directory with trusted.overlay.opaque=y gets a
 * `.wh..wh..opq` marker right after it, xattrs become PAX `SCHILY.xattr.*` records (all but
 * `trusted.overlay.*`), a second name of an inode becomes a hardlink entry. Same tree -> same bytes.
 */
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { CopaError } from '../errors.js';
import { silentLogger } from '../log.js';
import { WHITEOUT_PREFIX } from './paths.js';
import { EntryBuilder, packLayer, type PackItem, type PackOptions, type WrittenLayer } from './tar-pack.js';
import { readXattrsRecursive, type Xattrs } from './xattr.js';

export type { PackOptions as WriteLayerOptions, WrittenLayer } from './tar-pack.js';

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
  for (const name of ['trusted.overlay.redirect', 'trusted.overlay.metacopy']) {
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

async function* upperEntries(
  upperdir: string,
  xattrs: Map<string, Xattrs>,
  opts: PackOptions,
): AsyncGenerator<PackItem> {
  const builder = new EntryBuilder(opts.sourceDateEpoch);
  const logger = opts.logger ?? silentLogger;
  async function* walk(dirAbs: string, dirRel: string): AsyncGenerator<PackItem> {
    const children: { name: string; key: string; st: Stats }[] = [];
    for (const name of readNames(dirAbs)) {
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      if (opts.exclude?.(rel)) continue;
      const st = lstatSync(join(dirAbs, name));
      // entries are ordered by the name they get in the tar (a whiteout's is `.wh.<name>`)
      children.push({ name, key: isWhiteoutDevice(st) ? `${WHITEOUT_PREFIX}${name}` : name, st });
    }
    children.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    for (const { name, st } of children) {
      const abs = join(dirAbs, name);
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      const xa = xattrs.get(abs);
      checkSelfContained(abs, xa);
      if (isWhiteoutDevice(st)) {
        yield builder.whiteout(rel, st);
        continue;
      }
      const item = builder.item(abs, rel, st, xa);
      if (!item) {
        logger.debug(`layer: leaving out ${rel} (a socket)`);
        continue;
      }
      yield item;
      if (st.isDirectory()) {
        // the opaque marker comes right after its directory, before any sibling inside it
        if (xa?.get('trusted.overlay.opaque')?.toString() === 'y') yield builder.opaque(rel, st);
        yield* walk(abs, rel);
      }
    }
  }
  yield* walk(upperdir, '');
}

export async function writeLayer(
  upperdir: string,
  outFile: string,
  opts: PackOptions,
): Promise<WrittenLayer> {
  const dir = resolve(upperdir);
  const xattrs = await readXattrsRecursive(dir);
  return packLayer(upperEntries(dir, xattrs, opts), outFile, opts.compression);
}
