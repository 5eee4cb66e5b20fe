import type { ContenderResult, Target } from './stats.js';

/**
 * The floors measured beside our --debug phases (bench/profile-floors.ts), and the pure arithmetic over
 * them: which of our phases each floor stands beside, the phase table's order and ratio rows, the targets.
 */

/** cold rows: the same image's layer blobs, all fetched and extracted at once */
export const PULL_FLOOR = 'floor: pull + extract (parallel curl | tar -xz)';
/** every row: the entries of our new layer, tarred from the kept upperdir and gzipped at level 1 */
export const LAYER_FLOOR = 'floor: layer (tar | gzip -1, same entries)';

/** our phase -> the floor measured beside it */
export const FLOOR_OF: Readonly<Record<string, string>> = {
  'layers ready': PULL_FLOOR,
  'layer written': LAYER_FLOOR,
};

const r2 = (n: number): number => Math.round(n * 100) / 100;

/**
 * `tar -t --quoting-style=literal` of our layer -> the paths to tar from the upperdir: a whiteout
 * `.wh.<name>` is the character device `<name>` there, opaque markers (`.wh..wh..opq`) are left out,
 * trailing slashes of directories are dropped.
 */
export function layerNames(listing: string): string[] {
  const names: string[] = [];
  for (const line of listing.split('\n')) {
    const n = line.replace(/^\.\//, '').replace(/\/+$/, '');
    if (!n || n === '.') continue;
    const slash = n.lastIndexOf('/');
    const base = n.slice(slash + 1);
    if (base === '.wh..wh..opq') continue;
    names.push(base.startsWith('.wh.') ? `${n.slice(0, slash + 1)}${base.slice(4)}` : n);
  }
  return names;
}

/** Seconds from a pair of performance.now() readings, 2 decimals. */
export function seconds(startMs: number, endMs: number): number {
  return r2((endMs - startMs) / 1000);
}

/** Our phase ÷ the floor beside it, or undefined when either is missing or the floor is 0. */
export function floorRatio(phases: Record<string, number> | undefined, phase: string): number | undefined {
  const floor = FLOOR_OF[phase];
  const ours = phases?.[phase];
  const f = floor === undefined ? undefined : phases?.[floor];
  if (ours === undefined || f === undefined || f <= 0) return undefined;
  return ours / f;
}

/** Row name of the ratio row printed under a floor. */
export const ratioRowName = (phase: string): string => `${phase} ÷ floor`;

/**
 * Phase names in table order: each floor right after the phase it stands beside, followed by a ratio row
 * (named by ratioRowName); other phases keep their order.
 */
export function orderPhaseNames(names: readonly string[]): string[] {
  const floors = new Set(Object.values(FLOOR_OF));
  const out: string[] = [];
  for (const n of names) {
    if (floors.has(n)) continue;
    out.push(n);
    const f = FLOOR_OF[n];
    if (f !== undefined && names.includes(f)) out.push(f, ratioRowName(n));
  }
  // a floor without its phase (should not happen) still shows
  for (const n of names) if (floors.has(n) && !out.includes(n)) out.push(n);
  return out;
}

/**
 * Our phase ≤ limit × its floor in every row that has both (one target; the worst ratio decides, every
 * row's figures in the measured text).
 */
export function phaseFloorTarget(
  results: readonly ContenderResult[],
  phase: string,
  limit: number,
  name: string,
): Target {
  const rows = results.flatMap((r) => {
    const q = floorRatio(r.phases, phase);
    return q === undefined ? [] : [{ r, q }];
  });
  if (rows.length === 0) return { name, measured: 'n/a', met: undefined };
  const worst = Math.max(...rows.map((x) => x.q));
  const floor = FLOOR_OF[phase] ?? '';
  const parts = rows.map(
    ({ r, q }) =>
      `${r.id} ${(r.phases?.[phase] ?? 0).toFixed(2)} s vs ${(r.phases?.[floor] ?? 0).toFixed(2)} s = ${q.toFixed(2)}×`,
  );
  return { name, measured: `worst ${worst.toFixed(2)}× (${parts.join('; ')})`, met: worst <= limit };
}

/** The phase targets: pull + extract ≤ 1.5× its floor, layer write ≤ 1.3× its floor. */
export function phaseFloorTargets(results: readonly ContenderResult[]): Target[] {
  return [
    phaseFloorTarget(
      results,
      'layers ready',
      1.5,
      'pull + extract ("layers ready", cold rows) ≤ 1.5× its floor (parallel curl | tar -xz)',
    ),
    phaseFloorTarget(
      results,
      'layer written',
      1.3,
      'layer write ("layer written") ≤ 1.3× its floor (tar | gzip -1 of the same entries)',
    ),
  ];
}
