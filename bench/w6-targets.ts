import { median, ratio, summarize, type ContenderResult, type Target } from './stats.js';

/** detail key of the floor rows: their changed files at gzip -6 */
export const GZ6 = 'changed files gzip -6 KiB';

const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

/** The W6 targets: warm ≤ 1.3× the floor's time, new layer ≤ 1.0× the floor's changed files (gzip). */
export function w6Targets(results: readonly ContenderResult[]): Target[] {
  if (!results.some((r) => r.workload === 'w6' && !r.unavailable)) return [];
  return (['python', 'node'] as const).flatMap((kind) => {
    const find = (id: string) => results.find((x) => x.id === id && !x.unavailable);
    const ours = summarize(find(`copa-w6-${kind}-warm`)?.rounds ?? []);
    const floorRounds = find(`floor-w6-${kind}`)?.rounds ?? [];
    const floor = summarize(floorRounds);
    // the same changes at our own level (gzip -6), for reference
    const gz6 = floorRounds.flatMap((r) => {
      const v = r.detail?.[GZ6];
      return v === undefined ? [] : [v];
    });
    const at6 = gz6.length > 0 ? `; ${median(gz6).toFixed(1)} KiB at gzip -6` : '';
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
            : `${l.toFixed(2)}× (${kib(ours?.layer?.compressed ?? 0)} vs ${kib(floor?.layer?.compressed ?? 0)}${at6})`,
        met: l === undefined ? undefined : l <= 1.0,
      },
    ];
  });
}
