/**
 * package-lock.json (and node_modules/.package-lock.json) entries of replaced packages: version, resolved,
 * integrity and dependencies follow the new tarball, so that `npm ci` / `npm ls` agree with node_modules.
 */

export interface LockEdit {
  /** path relative to the app dir: node_modules/a/node_modules/b */
  rel: string;
  from: string;
  to: string;
  /** sha512-… of the new tarball */
  integrity: string;
  dependencies: Record<string, string>;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

function setEntry(entry: Json, edit: LockEdit, depsKey: 'dependencies' | 'requires'): void {
  entry.version = edit.to;
  const resolved = entry.resolved;
  const suffix = `-${edit.from}.tgz`;
  if (typeof resolved === 'string' && resolved.endsWith(suffix)) {
    entry.resolved = `${resolved.slice(0, -suffix.length)}-${edit.to}.tgz`;
  } else {
    delete entry.resolved;
  }
  entry.integrity = edit.integrity;
  if (Object.keys(edit.dependencies).length > 0) entry[depsKey] = { ...edit.dependencies };
  else delete entry[depsKey];
}

/** `node_modules/a/node_modules/@s/b` -> ['a', '@s/b'] (undefined when it is not such a path). */
export function lockNames(rel: string): string[] | undefined {
  const parts = rel.split('/');
  const names: string[] = [];
  for (let i = 0; i < parts.length;) {
    if (parts[i] !== 'node_modules') return undefined;
    const a = parts[i + 1];
    if (a === undefined) return undefined;
    if (a.startsWith('@')) {
      const b = parts[i + 2];
      if (b === undefined) return undefined;
      names.push(`${a}/${b}`);
      i += 3;
    } else {
      names.push(a);
      i += 2;
    }
  }
  return names.length > 0 ? names : undefined;
}

/** The lock file text with the edits applied; undefined when it is not a lock file or nothing changed. */
export function editLockfile(text: string, edits: LockEdit[]): string | undefined {
  let lock: unknown;
  try {
    lock = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObj(lock)) return undefined;
  let changed = false;
  for (const edit of edits) {
    // lockfileVersion 2 and 3: flat "packages" keyed by path
    const packages = lock.packages;
    const flat = isObj(packages) ? packages[edit.rel] : undefined;
    if (isObj(flat) && flat.link !== true) {
      setEntry(flat, edit, 'dependencies');
      changed = true;
    }
    // lockfileVersion 1 and 2: nested "dependencies"
    const names = lockNames(edit.rel);
    let node: unknown = lock;
    for (const n of names ?? []) {
      const deps: unknown = isObj(node) ? node.dependencies : undefined;
      node = isObj(deps) ? deps[n] : undefined;
    }
    if (names && isObj(node) && typeof node.version === 'string' && !node.version.includes(':')) {
      setEntry(node, edit, 'requires');
      changed = true;
    }
  }
  if (!changed) return undefined;
  const indent = /^\{\r?\n(\t+)/.exec(text)?.[1] ?? /^\{\r?\n( +)/.exec(text)?.[1] ?? '  ';
  return JSON.stringify(lock, null, indent) + (text.endsWith('\n') ? '\n' : '');
}
