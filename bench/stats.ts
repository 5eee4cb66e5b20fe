import type { LayerContent } from './layer.js';
import type { Sample } from './measure.js';
import type { Traffic } from './proxy.js';

/** The results model of a bench run, and the pure arithmetic over it: medians, ratios, targets. */

export type Family = 'copa' | 'buildah' | 'floor';
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
}

export interface ContenderResult {
  id: string;
  label: string;
  family: Family;
  temperature: Temperature;
  /** `small` or `10x` */
  image: string;
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
  return {
    wallS: m((r) => r.sample.wallS),
    cpuS: m((r) => r.sample.cpuS),
    rssMiB: m((r) => r.sample.rssMiB),
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

export interface Target {
  name: string;
  /** measured value, as text */
  measured: string;
  /** undefined: could not be measured */
  met: boolean | undefined;
}

const find = (results: readonly ContenderResult[], id: string): ContenderResult | undefined =>
  results.find((r) => r.id === id && !r.unavailable);

const medians = (r: ContenderResult | undefined): Summary | undefined =>
  r ? summarize(r.rounds) : undefined;

/** a ≤ limit × b on wall time; the CPU-time ratio is shown beside it (steadier on a shared machine). */
function ratioTarget(
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

/** The targets (not asserted anywhere: reported). */
export function evaluateTargets(results: readonly ContenderResult[]): Target[] {
  const w1 = find(results, 'copa-w1-warm');
  const big = find(results, 'copa-w1-10x-warm');
  const targets = [
    ratioTarget('W1 warm ≤ 0.3× buildah (warm)', w1, peerOf(results, 'buildah', 'warm'), 0.3),
    ratioTarget('W1 warm ≤ 1.5× floor (warm)', w1, peerOf(results, 'floor', 'warm'), 1.5),
    ratioTarget('W1 10x warm ≤ 1.2× W1 warm', big, w1, 1.2),
  ];
  const rss = results
    .filter((r) => r.family === 'copa' && !r.unavailable)
    .flatMap((r) => r.rounds.map((x) => x.sample.rssMiB));
  const maxRss = rss.length > 0 ? Math.max(...rss) : undefined;
  targets.push({
    name: 'peak RSS < 200 MiB (every copa run)',
    measured: maxRss === undefined ? 'n/a' : `${maxRss.toFixed(0)} MiB`,
    met: maxRss === undefined ? undefined : maxRss < 200,
  });
  targets.push(layerTarget(w1?.content));
  return targets;
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
