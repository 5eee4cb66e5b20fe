/**
 * What a squashed diff carries that changes nothing in its base, found by asking the base (an engine that
 * cannot mount it, e.g. BuildKit, lists its directories through the daemon):
 * - a whiteout of a path the base does not have (a file one step created and a later step removed);
 * - a directory left with no surviving entry below it whose mode and owner equal the base's (its mtime moved
 *   because a file in it came and went, or was excluded, e.g. a package manager's log).
 */
import { posix } from 'node:path';
import { classifyWhiteout } from './paths.js';

export interface SurvivorInfo {
  /** index of the layer whose entry survives */
  layer: number;
  kind: 'dir' | 'whiteout' | 'other';
  mode: number;
  uid: number;
  gid: number;
}

export interface BaseEntry {
  name: string;
  dir: boolean;
  /** permission bits with setuid/setgid/sticky, as in a tar header */
  mode: number;
  uid: number;
  gid: number;
}

/** the entries of a directory of the base ('' = the root); undefined when it has no such directory */
export type BaseLister = (dir: string) => Promise<BaseEntry[] | undefined>;

const parent = (path: string): string => (posix.dirname(path) === '.' ? '' : posix.dirname(path));

/** the paths of `seen` to leave out of the squashed layer */
export async function noChanges(seen: Map<string, SurvivorInfo>, base: BaseLister): Promise<string[]> {
  const listings = new Map<string, Promise<Map<string, BaseEntry> | undefined>>();
  const lookup = async (path: string): Promise<BaseEntry | undefined> => {
    const dir = parent(path);
    let listing = listings.get(dir);
    if (!listing) {
      listing = base(dir).then((l) => (l ? new Map(l.map((e) => [e.name, e])) : undefined));
      listings.set(dir, listing);
    }
    return (await listing)?.get(posix.basename(path));
  };
  const drop = new Set<string>();
  for (const [path, info] of seen) {
    if (info.kind !== 'whiteout') continue;
    const wh = classifyWhiteout(posix.basename(path));
    if (wh.kind !== 'whiteout') continue;
    const target = parent(path) ? `${parent(path)}/${wh.name}` : wh.name;
    if (!seen.has(target) && (await lookup(target)) === undefined) drop.add(path);
  }
  // deepest first, so a parent emptied by its children's removal goes too
  const children = new Map<string, number>();
  for (const p of seen.keys()) if (!drop.has(p)) children.set(parent(p), (children.get(parent(p)) ?? 0) + 1);
  const dirs = [...seen].filter(([, i]) => i.kind === 'dir').map(([p]) => p);
  dirs.sort((a, b) => b.split('/').length - a.split('/').length);
  for (const dir of dirs) {
    if ((children.get(dir) ?? 0) > 0) continue;
    const info = seen.get(dir);
    const was = await lookup(dir);
    if (!info || !was?.dir) continue;
    if (was.mode !== (info.mode & 0o7777) || was.uid !== info.uid || was.gid !== info.gid) continue;
    drop.add(dir);
    children.set(parent(dir), (children.get(parent(dir)) ?? 1) - 1);
  }
  return [...drop];
}
