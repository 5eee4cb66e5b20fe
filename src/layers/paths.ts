/** Pure path rules for layers: entry name cleaning, whiteout names, entry order. */
import { CopaError } from '../errors.js';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
/** Linux NAME_MAX / PATH_MAX (bytes) */
export const NAME_MAX = 255;
export const PATH_MAX = 4095;

export type CleanPath = { path: string } | { reason: string };

/**
 * Clean a tar entry name to a path relative to the layer root: leading `/` and `./` are stripped
 * (contained, as `tar` does), `.` and empty components dropped, `..` folded; a name that climbs
 * above the root is refused. Returns '' for the root itself.
 */
export function cleanEntryPath(name: string): CleanPath {
  if (name.includes('\0')) return { reason: 'name contains a NUL byte' };
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return { reason: 'path escapes the layer root' };
      out.pop();
      continue;
    }
    out.push(part);
  }
  const path = out.join('/');
  for (const part of out) {
    if (Buffer.byteLength(part) > NAME_MAX)
      return { reason: `a path component is longer than ${NAME_MAX} bytes` };
  }
  if (Buffer.byteLength(path) > PATH_MAX) return { reason: `path is longer than ${PATH_MAX} bytes` };
  return { path };
}

export type Whiteout =
  | { kind: 'none' }
  /** `.wh..wh..opq`: the parent directory hides everything below it */
  | { kind: 'opaque' }
  /** `.wh.<name>`: `<name>` in the same directory is deleted */
  | { kind: 'whiteout'; name: string }
  /** other `.wh..wh.*` (aufs metadata such as `.wh..wh.plnk`): ignored */
  | { kind: 'meta' }
  /** `.wh.`, `.wh..`, `.wh...`: a whiteout that names no sibling */
  | { kind: 'invalid' };

export function classifyWhiteout(base: string): Whiteout {
  if (base === OPAQUE_MARKER) return { kind: 'opaque' };
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: 'none' };
  if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return { kind: 'meta' };
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (name === '' || name === '.' || name === '..' || name.includes('/')) return { kind: 'invalid' };
  return { kind: 'whiteout', name };
}

export function whiteoutPath(relPath: string): string {
  const slash = relPath.lastIndexOf('/');
  return slash === -1
    ? `${WHITEOUT_PREFIX}${relPath}`
    : `${relPath.slice(0, slash + 1)}${WHITEOUT_PREFIX}${relPath.slice(slash + 1)}`;
}

export function opaquePath(dirRelPath: string): string {
  return dirRelPath === '' ? OPAQUE_MARKER : `${dirRelPath}/${OPAQUE_MARKER}`;
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Layer entry order: component by component in byte order, so a directory comes right before
 * everything inside it ("a", "a/b", "a-b" — not "a", "a-b", "a/b").
 */
export function comparePaths(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const c = compareBytes(pa[i] as string, pb[i] as string);
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

/** The error for a hostile or malformed entry, naming the layer and the entry. */
export function unsafeEntry(layer: string, entry: string, reason: string): CopaError {
  return new CopaError('UNSAFE_LAYER', `${layer} entry ${JSON.stringify(entry)}: ${reason}`, {
    hint: 'the image layer is malformed or hostile; do not use this image, or rebuild it from a trusted source',
  });
}
