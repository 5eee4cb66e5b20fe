import type { LayerContent } from './layer.js';
import type { Sample } from './measure.js';
import type { Traffic } from './proxy.js';

/** The results model of a bench run, and the pure arithmetic over it: medians, ratios, targets. */

/**
 * `copa`: ours (native engine); `copa-bk`: ours on the BuildKit engine (`--addr`, the original Copa's
 * buildkitd); `copa-go`: the original Copa (v0.14.2) on that BuildKit daemon
 */
export type Family = 'copa' | 'copa-bk' | 'copa-go' | 'buildah' | 'floor';
export type Temperature = 'cold' | 'warm';

export interface LayerSize {
  compressed: number;
  uncompressed: number;
}

export interface RoundResult {
  round: number;
  sample: Sample;
  traffic: Traffic;
  layer?: LayerSize;
  /** contender-specific figures of the round (e.g. the original Copa's client vs daemon CPU) */
  detail?: Record<string, number>;
}

export interface ContenderResult {
  id: string;
  label: string;
  family: Family;
  temperature: Temperature;
  /** `small`, `10x` or `w4` (the ten W4 tags) */
  image: string;
  /** `w1`, `w2`, `w4`: rows of the same workload, temperature and image are compared with the original Copa */
  workload?: string;
  rounds: RoundResult[];
  /** content of the new layer (first round) */
  content?: LayerContent;
  /** phase timings (seconds) of one extra `--debug` run */
  phases?: Record<string, number>;
  /** why the contender has no figures (e.g. a missing tool) */
  unavailable?: string;
  /** rounds that failed (the run goes on) */
  errors?: string[];
}

export interface Summary {
  wallS: number;
  cpuS: number;
  rssMiB: number;
  /** Σ RSS of the process tree(s), sampled (rows that sample it) */
  treeRssMiB?: number;
  pulled: number;
  pushed: number;
  layer?: LayerSize;
}

/** Median of a non-empty list (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const hi = s[mid] ?? 0;
  return s.length % 2 === 1 ? hi : ((s[mid - 1] ?? 0) + hi) / 2;
}

export function summarize(rounds: readonly RoundResult[]): Summary | undefined {
  if (rounds.length === 0) return undefined;
  const m = (f: (r: RoundResult) => number): number => median(rounds.map(f));
  const layers = rounds.flatMap((r) => (r.layer ? [r.layer] : []));
  const trees = rounds.flatMap((r) => (r.sample.treeRssMiB === undefined ? [] : [r.sample.treeRssMiB]));
  return {
    wallS: m((r) => r.sample.wallS),
    cpuS: m((r) => r.sample.cpuS),
    rssMiB: m((r) => r.sample.rssMiB),
    ...(trees.length > 0 ? { treeRssMiB: median(trees) } : {}),
    pulled: m((r) => r.traffic.pulled),
    pushed: m((r) => r.traffic.pushed),
    ...(layers.length > 0
      ? {
          layer: {
            compressed: median(layers.map((l) => l.compressed)),
            uncompressed: median(layers.map((l) => l.uncompressed)),
          },
        }
      : {}),
  };
}

const r2 = (n: number): number => Math.round(n * 100) / 100;

/**
 * Several commands run one after the other as one figure: wall and CPU times add up, the peak resident
 * sets do not (the largest one is the peak).
 */
export function sumSamples(samples: readonly Sample[]): Sample {
  if (samples.length === 0) throw new Error('sum of no samples');
  const sum = (f: (s: Sample) => number): number => r2(samples.reduce((n, s) => n + f(s), 0));
  const trees = samples.flatMap((s) => (s.treeRssMiB === undefined ? [] : [s.treeRssMiB]));
  return {
    wallS: sum((s) => s.wallS),
    userS: sum((s) => s.userS),
    sysS: sum((s) => s.sysS),
    cpuS: sum((s) => s.cpuS),
    rssMiB: Math.max(...samples.map((s) => s.rssMiB)),
    ...(trees.length > 0 ? { treeRssMiB: Math.max(...trees) } : {}),
  };
}

/** The spread of runs summed by sumSamples (for the details under the table). */
export function perRunDetail(samples: readonly Sample[]): Record<string, number> {
  const walls = samples.map((s) => s.wallS);
  return {
    runs: samples.length,
    'first run wall s': walls[0] ?? 0,
    'fastest run wall s': Math.min(...walls),
    'slowest run wall s': Math.max(...walls),
  };
}

/** a / b, or undefined when either is missing or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || b === 0) return undefined;
  return a / b;
}

/** The peer a contender is compared with: same family of peer, same cache temperature, small image. */
export function peerOf(
  results: readonly ContenderResult[],
  family: Family,
  temperature: Temperature,
): ContenderResult | undefined {
  return results.find(
    (r) => r.family === family && r.temperature === temperature && r.image === 'small' && !r.unavailable,
  );
}

/** The original Copa's row for the same workload, temperature and image as `r` (none for its own rows). */
export function copaGoPeerOf(
  results: readonly ContenderResult[],
  r: ContenderResult,
): ContenderResult | undefined {
  if (r.family === 'copa-go' || r.workload === undefined) return undefined;
  return results.find(
    (p) =>
      p.family === 'copa-go' &&
      !p.unavailable &&
      p.workload === r.workload &&
      p.temperature === r.temperature &&
      p.image === r.image,
  );
}

export interface Target {
  name: string;
  /** measured value, as text */
  measured: string;
  /** undefined: could not be measured */
  met: boolean | undefined;
}

export const find = (results: readonly ContenderResult[], id: string): ContenderResult | undefined =>
  results.find((r) => r.id === id && !r.unavailable);

const medians = (r: ContenderResult | undefined): Summary | undefined =>
  r ? summarize(r.rounds) : undefined;

/** a ≤ limit × b on wall time; the CPU-time ratio is shown beside it (steadier on a shared machine). */
export function ratioTarget(
  name: string,
  a: ContenderResult | undefined,
  b: ContenderResult | undefined,
  limit: number,
): Target {
  const sa = medians(a);
  const sb = medians(b);
  const q = ratio(sa?.wallS, sb?.wallS);
  const cpu = ratio(sa?.cpuS, sb?.cpuS);
  const measured =
    q === undefined ? 'n/a' : `${q.toFixed(2)}× wall (${cpu === undefined ? '?' : cpu.toFixed(2)}× CPU)`;
  return { name, measured, met: q === undefined ? undefined : q <= limit };
}

/** The issue's targets (not asserted anywhere: reported); issue 14's speed targets: bench/speed-targets.ts. */
export function evaluateTargets(results: readonly ContenderResult[]): Target[] {
  const w1 = find(results, 'copa-w1-warm');
  const big = find(results, 'copa-w1-10x-warm');
  const targets = [
    ratioTarget('W1 warm ≤ 0.3× buildah (warm)', w1, peerOf(results, 'buildah', 'warm'), 0.3),
    ratioTarget('W1 warm ≤ 1.5× floor (warm)', w1, peerOf(results, 'floor', 'warm'), 1.5),
    ratioTarget('W1 10x warm ≤ 1.2× W1 warm', big, w1, 1.2),
  ];
  targets.push(layerTarget(w1?.content));
  const bulk = find(results, W4_BULK);
  targets.push(
    ratioTarget('W4 bulk ≤ 0.3× ten separate runs (cold)', bulk, find(results, W4_SEPARATE), 0.3),
    ratioTarget('W4 bulk ≤ 0.5× the original Copa bulk (cold)', bulk, find(results, W4_COPA_GO), 0.5),
    bulkRssTarget(bulk),
  );
  return targets;
}

export const W4_BULK = 'copa-w4-bulk-cold';
export const W4_SEPARATE = 'copa-w4-separate-cold';
export const W4_COPA_GO = 'copa-go-w4-bulk-cold';

/** Peak RSS of our whole bulk run ≤ 400 MiB: the larger of the sampled tree sum and the largest process. */
export function bulkRssTarget(bulk: ContenderResult | undefined): Target {
  const name = 'W4 bulk: peak RSS of the whole run ≤ 400 MiB';
  const peaks = (bulk?.rounds ?? []).map((r) => Math.max(r.sample.rssMiB, r.sample.treeRssMiB ?? 0));
  if (peaks.length === 0) return { name, measured: 'n/a', met: undefined };
  const worst = Math.max(...peaks);
  const tree = (bulk?.rounds ?? []).flatMap((r) =>
    r.sample.treeRssMiB === undefined ? [] : [r.sample.treeRssMiB],
  );
  const single = Math.max(...(bulk?.rounds ?? []).map((r) => r.sample.rssMiB));
  const pss = (bulk?.rounds ?? []).flatMap((r) => {
    const v = r.detail?.['Σ tree PSS MiB'];
    return v === undefined ? [] : [v];
  });
  const pssText = pss.length > 0 ? `, Σ PSS ${Math.max(...pss).toFixed(0)}` : '';
  return {
    name,
    measured: `${worst.toFixed(0)} MiB (Σ process tree RSS ${tree.length > 0 ? Math.max(...tree).toFixed(0) : '?'}${pssText}, largest process ${single.toFixed(0)})`,
    met: worst <= 400,
  };
}

/** New layer ≤ the changed package files + dpkg database: nothing else in it, package files ≤ Σ Installed-Size. */
export function layerTarget(c: LayerContent | undefined): Target {
  const name = 'layer = package files + dpkg db only';
  if (!c) return { name, measured: 'n/a', met: undefined };
  const stray = c.bytes['apt lists'] + c.bytes['apt cache'] + c.bytes.logs;
  const limit = c.upgradedInstalledSize;
  const pkg = c.bytes['package files'];
  const mib = (n: number): string => (n / 2 ** 20).toFixed(1);
  const within = limit === undefined ? undefined : pkg <= limit;
  return {
    name,
    measured: `files ${mib(pkg)} MiB (Σ Installed-Size ${limit === undefined ? '?' : mib(limit)}), dpkg db ${mib(c.bytes['dpkg db'])}, lists/caches/logs ${mib(stray)} MiB`,
    met: within === undefined ? undefined : within && stray === 0,
  };
}
