/**
 * Find the .NET app of the image: the first `*.deps.json` outside the SDK/cache/temp trees (Copa's rule),
 * looking first where the report says (Trivy's dotnet-core PkgPath is the deps.json path), then a bounded
 * walk of the image through the executor (no `find` needed in the image: chiseled images have none).
 */
import type { Executor } from '../../engine/types.js';
import { frameworkOf, parseDepsJson, type DepsJson } from './depsjson.js';
import { majorMinor } from './version.js';

/** Copa's exclusions, plus the run-time trees that are never part of the image */
const EXCLUDED = [
  '/usr/share',
  '/usr/local/share',
  '/root/.nuget',
  '/tmp',
  '/proc',
  '/sys',
  '/dev',
  '/run',
  '/var/tmp',
];
/** an image path we are willing to put in an argv: plain characters, absolute, no `..` */
const SAFE_PATH = /^\/[A-Za-z0-9._+@=,~-]+(\/[A-Za-z0-9._+@=,~-]+)*$/;
const MAX_DEPTH = 8;
const MAX_DIRS = 20_000;
export const DEFAULT_FRAMEWORK = '8.0';

export interface DotnetApp {
  /** e.g. /app/MyApp.deps.json */
  depsPath: string;
  /** e.g. /app */
  appDir: string;
  deps: DepsJson;
  /** major.minor, e.g. 8.0 */
  framework: string;
  /** names in the app dir */
  files: string[];
}

export function safePath(p: string): boolean {
  return SAFE_PATH.test(p) && !p.split('/').some((s) => s === '..' || s === '.');
}

/** a .NET install's own files (Ubuntu's /usr/lib/dotnet, a tarball in /opt) and per-user tool dirs */
const DOTNET_TREES = /\/dotnet\/(shared|sdk|packs|templates|host|sdk-manifests)(\/|$)|\/\.dotnet(\/|$)/;

export function excludedPath(p: string): boolean {
  return EXCLUDED.some((e) => p === e || p.startsWith(e + '/')) || DOTNET_TREES.test(p);
}

function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/** candidate deps.json paths from the report's pkgPath values (file paths, or dirs to look in) */
async function fromReport(exec: Executor, pkgPaths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const raw of pkgPaths) {
    const p = '/' + raw.replace(/^\/+/, '').replace(/\/+$/, '');
    if (!safePath(p) || excludedPath(p)) continue;
    if (p.endsWith('.deps.json')) out.push(p);
    else {
      const names = await exec.list(p);
      for (const n of names ?? []) if (n.endsWith('.deps.json')) out.push(`${p}/${n}`);
    }
  }
  return out;
}

/** breadth-first over the image, sorted names, bounded in depth and directories visited */
async function walk(exec: Executor): Promise<string | undefined> {
  let level = ['/'];
  let visited = 0;
  for (let depth = 0; depth <= MAX_DEPTH && level.length > 0; depth++) {
    const next: string[] = [];
    for (const dir of level) {
      if (++visited > MAX_DIRS) return undefined;
      const names = await exec.list(dir);
      if (!names) continue;
      for (const n of names) {
        const p = dir === '/' ? `/${n}` : `${dir}/${n}`;
        if (excludedPath(p)) continue;
        if (n.endsWith('.deps.json') && (await exec.readFile(p)) !== undefined) return p;
        next.push(p);
      }
    }
    level = next;
  }
  return undefined;
}

/** The framework of the app: deps.json first, then `<App>.runtimeconfig.json`, else 8.0. */
async function framework(exec: Executor, depsPath: string, deps: DepsJson): Promise<string> {
  const fromDeps = frameworkOf(deps);
  if (fromDeps) return fromDeps;
  const rc = await exec.readFile(depsPath.replace(/\.deps\.json$/, '.runtimeconfig.json'));
  try {
    const j = JSON.parse(rc?.toString('utf8') ?? '{}') as {
      runtimeOptions?: { framework?: { version?: string }; frameworks?: Array<{ version?: string }> };
    };
    const v = j.runtimeOptions?.framework?.version ?? j.runtimeOptions?.frameworks?.[0]?.version;
    return (v && majorMinor(v)) || DEFAULT_FRAMEWORK;
  } catch {
    return DEFAULT_FRAMEWORK;
  }
}

/** The app to patch, or undefined when the image has no usable deps.json. Throws on an unreadable one. */
export async function findApp(exec: Executor, pkgPaths: readonly string[]): Promise<DotnetApp | undefined> {
  let depsPath: string | undefined;
  for (const p of await fromReport(exec, pkgPaths)) {
    if ((await exec.readFile(p)) !== undefined) {
      depsPath = p;
      break;
    }
  }
  depsPath ??= await walk(exec);
  if (!depsPath) return undefined;
  if (!safePath(depsPath)) throw new Error(`unsupported characters in the path ${JSON.stringify(depsPath)}`);
  const text = (await exec.readFile(depsPath))?.toString('utf8') ?? '';
  let deps: DepsJson;
  try {
    deps = parseDepsJson(text);
  } catch (e) {
    throw new Error(`${depsPath} is not a deps.json: ${(e as Error).message}`, { cause: e });
  }
  const appDir = dirname(depsPath);
  return {
    depsPath,
    appDir,
    deps,
    framework: await framework(exec, depsPath, deps),
    files: (await exec.list(appDir)) ?? [],
  };
}
