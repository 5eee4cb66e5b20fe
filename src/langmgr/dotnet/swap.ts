/**
 * The swap, planned in TypeScript and run as plain argv steps in the tooling root: each published DLL of a
 * patched package replaces the app's DLL of the same name (never a new DLL), the package's RID tree under
 * runtimes/ is merged when the app already carries one, and the deps.json is rewritten (updateDepsJson).
 */
import type { Executor } from '../../engine/types.js';
import { basename, targetEntries, type AssetInfo, type DepsJson, type PatchedPackage } from './depsjson.js';
import { safePath } from './find.js';
import type { Published } from './project.js';

export interface SwapStep {
  kind: 'copy' | 'mkdir';
  /** tooling path of the source (copy) */
  from?: string;
  /** image path written (copy: the file, mkdir: the dir) */
  image: string;
  /** the package it belongs to */
  name: string;
}

export interface SwapInput {
  appDir: string;
  /** names in the app dir */
  appFiles: readonly string[];
  deps: DepsJson;
  /** the publish output dir in the tooling root */
  outDir: string;
  /** relative paths known to exist in outDir (top-level names and runtimes/... files) */
  outPaths: ReadonlySet<string>;
}

export interface SwapPlan {
  steps: SwapStep[];
  /** per package: what updateDepsJson needs */
  patched: PatchedPackage[];
  /** packages whose runtime DLLs none were found in the app dir (the shared framework supplies them) */
  depsOnly: string[];
  /** old DLLs of a package present in the app dir that the publish output has no replacement for */
  stale: Array<{ name: string; file: string }>;
}

function parentOf(p: string): string {
  return p.slice(0, p.lastIndexOf('/'));
}

/** Plan the copies of one package set (pure). */
export function planSwap(
  input: SwapInput,
  pkgs: ReadonlyArray<{ name: string; from: string; pub: Published }>,
): SwapPlan {
  const files = new Set(input.appFiles);
  const plan: SwapPlan = { steps: [], patched: [], depsOnly: [], stale: [] };
  const dirs = new Set<string>();
  for (const { name, from, pub } of pkgs) {
    const old = targetEntries(input.deps, `${name}/${from}`);
    const oldRuntime = old.flatMap((e) => Object.keys(e.runtime ?? {}));
    const oldRidTargets = old.flatMap((e) => Object.keys(e.runtimeTargets ?? {}));
    let copied = 0;
    for (const path of Object.keys(pub.runtime)) {
      const b = basename(path);
      if (!b.toLowerCase().endsWith('.dll') || !files.has(b) || !input.outPaths.has(b)) continue;
      // an app published for one RID keeps the RID-specific build of the DLL: take the same one
      const ridPath = oldRuntime.find((k) => basename(k) === b && k.startsWith('runtimes/'));
      const src = ridPath && input.outPaths.has(ridPath) ? ridPath : b;
      plan.steps.push({ kind: 'copy', from: `${input.outDir}/${src}`, image: `${input.appDir}/${b}`, name });
      copied++;
    }
    for (const k of oldRuntime) {
      const b = basename(k);
      const replaced = plan.steps.some((s) => s.name === name && s.image === `${input.appDir}/${b}`);
      if (files.has(b) && !replaced) plan.stale.push({ name, file: `${input.appDir}/${b}` });
    }
    let runtimeTargets: PatchedPackage['runtimeTargets'];
    if (oldRidTargets.length > 0 && files.has('runtimes')) {
      const rid = Object.entries(pub.runtimeTargets).filter(
        ([k]) => k.startsWith('runtimes/') && safePath(`/${k}`) && input.outPaths.has(k),
      );
      for (const [k] of rid) {
        const dir = parentOf(`${input.appDir}/${k}`);
        if (!dirs.has(dir)) {
          dirs.add(dir);
          plan.steps.push({ kind: 'mkdir', image: dir, name });
        }
        plan.steps.push({ kind: 'copy', from: `${input.outDir}/${k}`, image: `${input.appDir}/${k}`, name });
        copied++;
      }
      if (rid.length > 0) runtimeTargets = Object.fromEntries(rid);
    }
    if (copied === 0) plan.depsOnly.push(name);
    plan.patched.push({
      name,
      from,
      to: pub.version,
      sha512: pub.sha512,
      runtime: { ...ridRuntime(oldRuntime, pub), ...pub.runtime },
      ...(runtimeTargets ? { runtimeTargets } : {}),
    });
  }
  return plan;
}

/** an app published for one RID lists RID assets under `runtime`: their new versions, same paths */
function ridRuntime(oldRuntime: readonly string[], pub: Published): Record<string, AssetInfo> {
  const out: Record<string, AssetInfo> = {};
  for (const k of oldRuntime) {
    const t = k.startsWith('runtimes/') ? pub.runtimeTargets[k] : undefined;
    if (!t) continue;
    const { rid: _rid, assetType: _type, ...versions } = t;
    out[k] = versions;
  }
  return out;
}

/** the argv of a step, run in the tooling root with the image at `target` */
export function stepArgv(step: SwapStep, target: string): string[] {
  return step.kind === 'mkdir'
    ? ['mkdir', '-p', '--', `${target}${step.image}`]
    : ['cp', '-f', '--', step.from ?? '', `${target}${step.image}`];
}

/** Run the steps; the names of the packages whose steps failed, with the reason. */
export async function runSwap(
  exec: Executor,
  steps: readonly SwapStep[],
  target: string,
  env: Record<string, string>,
): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  for (const s of steps) {
    if (failed.has(s.name)) continue;
    const r = await exec.run(stepArgv(s, target), { in: 'tooling', env });
    if (r.code !== 0) failed.set(s.name, `${s.kind} ${s.image}: ${r.stderr.trim().slice(0, 300)}`);
  }
  return failed;
}

/** Write a file of the image from the tooling root (tee: no shell needed, the file keeps its mode). */
export async function writeImageFile(
  exec: Executor,
  imagePath: string,
  text: string,
  target: string,
  env: Record<string, string>,
): Promise<void> {
  const r = await exec.run(['tee', '--', `${target}${imagePath}`], { in: 'tooling', env, stdin: text });
  if (r.code !== 0) throw new Error(`writing ${imagePath}: ${r.stderr.trim().slice(0, 300)}`);
}
