/**
 * After the swap: the deps.json lists each package at its new version (and not the old one), and each
 * copied file in the image is byte-for-byte the published one.
 */
import type { Executor } from '../../engine/types.js';
import { findLibrary, parseDepsJson } from './depsjson.js';
import type { SwapStep } from './swap.js';

export interface Expected {
  name: string;
  to: string;
}

/** package name → what is wrong with it (absent: fine) */
export async function validateSwap(
  exec: Executor,
  depsPath: string,
  expected: readonly Expected[],
  steps: readonly SwapStep[],
): Promise<Map<string, { installed: string | null; reason: string }>> {
  const bad = new Map<string, { installed: string | null; reason: string }>();
  let deps;
  try {
    deps = parseDepsJson((await exec.readFile(depsPath))?.toString('utf8') ?? '');
  } catch (e) {
    for (const x of expected)
      bad.set(x.name, {
        installed: null,
        reason: `${depsPath} unreadable after the update: ${(e as Error).message}`,
      });
    return bad;
  }
  for (const x of expected) {
    const lib = findLibrary(deps, x.name);
    if (lib?.version !== x.to) {
      bad.set(x.name, {
        installed: lib?.version ?? null,
        reason: `${depsPath} lists ${lib ? lib.key : 'no entry'}, expected ${x.to}`,
      });
    }
  }
  for (const s of steps) {
    if (s.kind !== 'copy' || bad.has(s.name) || !expected.some((x) => x.name === s.name)) continue;
    const [now, pub] = await Promise.all([exec.readFile(s.image), exec.readFile(s.from ?? '', 'tooling')]);
    if (!now || !pub || !now.equals(pub)) {
      const to = expected.find((x) => x.name === s.name)?.to ?? null;
      bad.set(s.name, { installed: to, reason: `${s.image} is not the published file` });
    }
  }
  return bad;
}
