import { ratio, summarize, type ContenderResult, type Target } from './stats.js';

const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

/** The W6 targets: warm ≤ 1.3× the floor's time, new layer ≤ 1.0× the floor's changed files (gzip). */
export function w6Targets(results: readonly ContenderResult[]): Target[] {
  if (!results.some((r) => r.workload === 'w6' && !r.unavailable)) return [];
  return (['python', 'node'] as const).flatMap((kind) => {
    const get = (id: string) => {
      const r = results.find((x) => x.id === id && !x.unavailable);
      return r ? summarize(r.rounds) : undefined;
    };
    const ours = get(`copa-w6-${kind}-warm`);
    const floor = get(`floor-w6-${kind}`);
    const t = ratio(ours?.wallS, floor?.wallS);
    const cpu = ratio(ours?.cpuS, floor?.cpuS);
    const l = ratio(ours?.layer?.compressed, floor?.layer?.compressed);
    return [
      {
        name: `W6 ${kind} warm ≤ 1.3× its floor (wall)`,
        measured:
          t === undefined
            ? 'n/a'
            : `${t.toFixed(2)}× wall (${ours?.wallS.toFixed(2)} s vs ${floor?.wallS.toFixed(2)} s; ${cpu === undefined ? '?' : cpu.toFixed(2)}× CPU)`,
        met: t === undefined ? undefined : t <= 1.3,
      },
      {
        name: `W6 ${kind} new layer ≤ 1.0× the floor's changed files (gzip -1)`,
        measured:
          l === undefined
            ? 'n/a'
            : `${l.toFixed(2)}× (${kib(ours?.layer?.compressed ?? 0)} vs ${kib(floor?.layer?.compressed ?? 0)})`,
        met: l === undefined ? undefined : l <= 1.0,
      },
    ];
  });
}
