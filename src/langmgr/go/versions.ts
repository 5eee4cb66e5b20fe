/**
 * Report data is untrusted: module paths and versions are checked before they reach an argv, and Go
 * versions are compared the way the go command does (semver with a leading `v`).
 */
import semver from 'semver';

const SAFE_PATH = /^[A-Za-z0-9._~/-]+$/;

/** Why a module path may not be used (undefined: it is fine). Copa's rules plus a charset allow-list. */
export function badModulePath(path: string): string | undefined {
  if (!path.includes('/')) return 'a module path contains "/"';
  if (!SAFE_PATH.test(path)) return 'characters outside [A-Za-z0-9._~/-]';
  if (path.startsWith('-') || path.startsWith('/')) return 'starts with "-" or "/"';
  if (path.split('/').some((p) => p === '..' || p === '.' || p === '')) return 'empty, "." or ".." element';
  return undefined;
}

/** Copa leaves Kubernetes itself alone (its modules are not meant to be required by version). */
export function isKubernetes(path: string): boolean {
  return path === 'k8s.io/kubernetes' || path.startsWith('k8s.io/kubernetes/');
}

/** `v1.2.3` from `1.2.3` / `v1.2.3` (canonical semver, pre-release and build allowed); undefined if not. */
export function goVersion(raw: string): string | undefined {
  const v = raw.trim().replace(/^v?/, 'v');
  if (!/^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(v)) return undefined;
  return semver.valid(v.slice(1)) ? v : undefined;
}

/** The first valid version of a comma list (`"0.17.0, 0.18.0"` → `v0.17.0`). */
export function firstGoVersion(list: string): string | undefined {
  for (const item of list.split(',')) {
    const v = goVersion(item);
    if (v) return v;
  }
  return undefined;
}

/** Go's semver order (build metadata such as `+incompatible` ignored). */
export function compareGo(a: string, b: string): number {
  return semver.compare(a.replace(/^v/, ''), b.replace(/^v/, ''));
}

/** A released (tagged) version: not `(devel)`, not empty, not a pseudo-version. */
export function isRelease(v: string | undefined): boolean {
  return v !== undefined && goVersion(v) === v && !isPseudo(v);
}

/** `v0.0.0-20220722155237-a158d28d115b`-style versions (a commit, not a tag). */
export function isPseudo(v: string): boolean {
  return /(^|[-.])\d{14}-[0-9a-f]{12}(\+[0-9A-Za-z.-]+)?$/.test(v);
}

/** Toolchain versions: `go1.22.4`, `1.22.4`, `1.22` → [1, 22, 4]; undefined if not one. */
export function toolchain(raw: string): [number, number, number] | undefined {
  const m = /^(?:go|v)?(\d+)\.(\d+)(?:\.(\d+))?/.exec(raw.trim());
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

export function compareToolchain(a: [number, number, number], b: [number, number, number]): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** The first item of a comma list that reads as a toolchain version (`"1.21.11, 1.22.4"` → 1.21.11). */
export function firstToolchain(list: string): [number, number, number] | undefined {
  for (const item of list.split(',')) {
    const t = toolchain(item);
    if (t) return t;
  }
  return undefined;
}
