/**
 * npm package names and versions from a scanner report (untrusted): checked before they reach a command
 * line or a path.
 */
import semver from 'semver';

const PART = /^[a-z0-9][a-z0-9._~-]*$/;

/**
 * Why `name` is not an npm package name we act on (undefined when it is one). npm's rules
 * (validate-npm-package-name) for new packages: at most 214 characters, lower case, URL-safe, optional
 * `@scope/`, no leading `.` or `_`; we also refuse `!'()*`, which npm still accepts in old names.
 */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'empty name';
  if (name.length > 214) return 'name longer than 214 characters';
  const parts = name.startsWith('@') ? name.slice(1).split('/') : [name];
  if (name.startsWith('@') && parts.length !== 2) return 'a scoped name is @scope/name';
  if (!name.startsWith('@') && name.includes('/')) return 'name contains "/"';
  for (const p of parts) {
    if (p === '.' || p === '..' || p.includes('..')) return 'name contains ".."';
    if (!PART.test(p)) return 'not lower-case, URL-safe characters (a-z 0-9 . _ ~ -, not leading . _ or -)';
  }
  if (name === 'node_modules' || name === 'favicon.ico') return `"${name}" is a reserved name`;
  return undefined;
}

/** The first valid semver of a (comma-separated) fixed-version string, normalised; undefined when none. */
export function pickVersion(fixed: string): string | undefined {
  for (const item of fixed.split(',')) {
    const v = semver.valid(item.trim());
    if (v !== null) return v;
  }
  return undefined;
}

/** The version string of a package.json text, or undefined when it has none / is not JSON. */
export function manifestVersion(text: string | Buffer | undefined): string | undefined {
  const m = parseManifest(text);
  return typeof m?.version === 'string' ? m.version : undefined;
}

export interface Manifest {
  name?: unknown;
  version?: unknown;
  dependencies?: unknown;
  optionalDependencies?: unknown;
  bin?: unknown;
}

export function parseManifest(text: string | Buffer | undefined): Manifest | undefined {
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text.toString());
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The `dependencies` (or other) map of a manifest as name -> range strings. */
export function depMap(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}
