/**
 * The parts of an app's `<App>.deps.json` this manager reads and rewrites (format: "Runtime Configuration
 * Files", dotnet/sdk documentation/specs/runtime-configuration-file.md): `runtimeTarget.name`, `targets`
 * (per framework/RID: `Name/Version` → dependencies, runtime, runtimeTargets, native) and `libraries`
 * (`Name/Version` → type, sha512, path, hashPath). Pure functions: no I/O here.
 */
import { majorMinor } from './version.js';

export interface AssetInfo {
  assemblyVersion?: string;
  fileVersion?: string;
  rid?: string;
  assetType?: string;
  [k: string]: unknown;
}

export interface TargetEntry {
  dependencies?: Record<string, string>;
  runtime?: Record<string, AssetInfo>;
  runtimeTargets?: Record<string, AssetInfo>;
  native?: Record<string, AssetInfo>;
  [k: string]: unknown;
}

export interface LibraryEntry {
  type?: string;
  serviceable?: boolean;
  sha512?: string;
  path?: string;
  hashPath?: string;
  [k: string]: unknown;
}

export interface DepsJson {
  runtimeTarget?: { name?: string; signature?: string };
  targets?: Record<string, Record<string, TargetEntry>>;
  libraries?: Record<string, LibraryEntry>;
  [k: string]: unknown;
}

/** What one patched package now is (from the publish output). */
export interface PatchedPackage {
  name: string;
  from: string;
  to: string;
  sha512: string;
  /** applied to every runtime asset the publish output does not describe itself */
  assemblyVersion?: string;
  fileVersion?: string;
  /** the published `runtime` assets of `name/to` (path → versions): matched to the old ones by file name */
  runtime?: Record<string, AssetInfo>;
  /** the published `runtimeTargets` of `name/to`: replace the old ones (the runtimes/ tree is merged) */
  runtimeTargets?: Record<string, AssetInfo>;
}

export function parseDepsJson(text: string): DepsJson {
  const v: unknown = JSON.parse(text);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
  const d = v as DepsJson;
  if (d.libraries !== undefined && (typeof d.libraries !== 'object' || Array.isArray(d.libraries))) {
    throw new Error('"libraries" is not an object');
  }
  if (d.targets !== undefined && (typeof d.targets !== 'object' || Array.isArray(d.targets))) {
    throw new Error('"targets" is not an object');
  }
  return d;
}

/** `Name/Version` → [Name, Version] */
export function splitKey(key: string): [string, string] {
  const i = key.lastIndexOf('/');
  return i < 0 ? [key, ''] : [key.slice(0, i), key.slice(i + 1)];
}

/** The library entry of a package (NuGet ids are case-insensitive): the name as spelled there and its version. */
export function findLibrary(
  deps: DepsJson,
  name: string,
): { key: string; name: string; version: string } | undefined {
  const want = name.toLowerCase();
  for (const key of Object.keys(deps.libraries ?? {})) {
    const [n, v] = splitKey(key);
    if (n.toLowerCase() === want && v !== '') return { key, name: n, version: v };
  }
  return undefined;
}

/**
 * The framework's major.minor: the first `Microsoft.NETCore.App/<ver>` (or its runtime pack) in the
 * libraries/targets, else the `runtimeTarget` (`.NETCoreApp,Version=v8.0`), else undefined.
 */
export function frameworkOf(deps: DepsJson): string | undefined {
  const keys = [
    ...Object.keys(deps.libraries ?? {}),
    ...Object.values(deps.targets ?? {}).flatMap((t) => Object.keys(t ?? {})),
  ];
  for (const k of keys) {
    const m = /^(?:runtimepack\.)?Microsoft\.NETCore\.App(?:\.Runtime\.[A-Za-z0-9._-]+)?\/(.+)$/.exec(k);
    const mm = m?.[1] ? majorMinor(m[1]) : undefined;
    if (mm) return mm;
  }
  const rt = /^\.NETCoreApp,Version=v(\d+\.\d+)/.exec(deps.runtimeTarget?.name ?? '');
  return rt?.[1];
}

/** The target entries of `key` in every target (framework, framework/RID). */
export function targetEntries(deps: DepsJson, key: string): TargetEntry[] {
  return Object.values(deps.targets ?? {})
    .map((t) => t?.[key])
    .filter((e): e is TargetEntry => e !== undefined && e !== null && typeof e === 'object');
}

export function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** Rebuild an object with one key renamed, in place of the old one (the file keeps its order). */
function renameKey<T>(obj: Record<string, T>, from: string, to: string, value: T): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === from) out[to] = value;
    else if (k !== to) out[k] = v;
  }
  return out;
}

function updateRuntime(old: Record<string, AssetInfo>, p: PatchedPackage): Record<string, AssetInfo> {
  const out: Record<string, AssetInfo> = {};
  for (const [path, info] of Object.entries(old)) {
    const published = Object.entries(p.runtime ?? {});
    const pub =
      published.find(([k]) => k === path) ?? published.find(([k]) => basename(k) === basename(path));
    if (pub) {
      out[pub[0]] = { ...info, ...pub[1] };
      continue;
    }
    const next: AssetInfo = { ...info };
    if (p.assemblyVersion !== undefined) next.assemblyVersion = p.assemblyVersion;
    if (p.fileVersion !== undefined) next.fileVersion = p.fileVersion;
    out[path] = next;
  }
  return out;
}

/**
 * The deps.json with each patched package moved from `from` to `to`: its `libraries` entry (key, sha512,
 * path, hashPath), its target entries (key, runtime asset paths and versions, runtimeTargets) and every
 * dependency that named the old version. Other packages and unknown fields are left as they are.
 */
export function updateDepsJson(deps: DepsJson, patched: readonly PatchedPackage[]): DepsJson {
  const out = structuredClone(deps);
  for (const p of patched) {
    const lib = findLibrary(out, p.name);
    if (!lib || lib.version !== p.from) continue;
    const newKey = `${lib.name}/${p.to}`;
    const lower = lib.name.toLowerCase();
    const libs = out.libraries ?? {};
    const entry: LibraryEntry = {
      ...libs[lib.key],
      sha512: p.sha512,
      path: `${lower}/${p.to}`,
      hashPath: `${lower}.${p.to}.nupkg.sha512`,
    };
    out.libraries = renameKey(libs, lib.key, newKey, entry);
    for (const [tname, target] of Object.entries(out.targets ?? {})) {
      let t = target ?? {};
      for (const e of Object.values(t)) {
        const deps2 = e?.dependencies;
        if (!deps2) continue;
        for (const [dn, dv] of Object.entries(deps2)) {
          if (dn.toLowerCase() === lower && dv === p.from) deps2[dn] = p.to;
        }
      }
      const old = t[lib.key];
      if (old !== undefined) {
        const next: TargetEntry = { ...old };
        if (old.runtime) next.runtime = updateRuntime(old.runtime, p);
        if (p.runtimeTargets && Object.keys(p.runtimeTargets).length > 0)
          next.runtimeTargets = p.runtimeTargets;
        t = renameKey(t, lib.key, newKey, next);
      }
      (out.targets as Record<string, Record<string, TargetEntry>>)[tname] = t;
    }
  }
  return out;
}

/** JSON text as the SDK writes it (two-space indent). */
export function formatDepsJson(deps: DepsJson): string {
  return JSON.stringify(deps, null, 2) + '\n';
}
