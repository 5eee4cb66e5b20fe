import type { BenchContext, Contender } from './contender.js';
import { copaContender } from './copa.js';
import { copaBkContender } from './ours-bk.js';
import { copaGoContender, type CopaGoEnv, type CopaGoSpec } from './peer.js';
import type { Temperature } from './stats.js';

/**
 * The single-image Debian rows, ours and the original Copa's: W1 (a report of every upgradable package)
 * and W2 (update-all) on the small image, cold and warm, and ours W1 on the 10x image; and ours on the
 * BuildKit engine (on the original Copa's buildkitd), W1 and W2 cold and warm.
 */

export const SMALL = 'bench/debian:12';
export const BIG = 'bench/debian-10x:12';

export interface SingleSources {
  /** upgradable packages in the reports */
  count: number;
  smallReport: string;
  bigReport: string;
}

const TEMPS: readonly Temperature[] = ['cold', 'warm'];

/** Ours: copa-w1-cold/-warm, copa-w2-cold/-warm, copa-w1-10x-cold/-warm. */
export function ourSingleContenders(ctx: BenchContext, s: SingleSources): Contender[] {
  const w1 = TEMPS.map((temperature) =>
    copaContender(
      {
        id: `copa-w1-${temperature}`,
        label: `W1 report (${s.count} pkgs), ${temperature}`,
        temperature,
        image: 'small',
        workload: 'w1',
        source: SMALL,
        report: s.smallReport,
      },
      ctx,
    ),
  );
  const w2 = TEMPS.map((temperature) =>
    copaContender(
      {
        id: `copa-w2-${temperature}`,
        label: `W2 update-all, ${temperature}`,
        temperature,
        image: 'small',
        workload: 'w2',
        source: SMALL,
      },
      ctx,
    ),
  );
  const big = TEMPS.map((temperature) =>
    copaContender(
      {
        id: `copa-w1-10x-${temperature}`,
        label: `W1 on the 10x image, ${temperature}`,
        temperature,
        image: '10x',
        workload: 'w1',
        source: BIG,
        report: s.bigReport,
      },
      ctx,
    ),
  );
  return [...w1, ...w2, ...big];
}

/** W1 (the report) then W2 (update-all) on the small image, cold and warm, for a peer on the bench's buildkitd */
function buildkitSpecs(prefix: string, who: string, s: SingleSources): CopaGoSpec[] {
  const w1 = TEMPS.map((temperature) => ({
    id: `${prefix}-w1-${temperature}`,
    label: `W1 report (${s.count} pkgs): ${who}, ${temperature}`,
    temperature,
    workload: 'w1' as const,
    source: SMALL,
    report: s.smallReport,
  }));
  const w2 = TEMPS.map((temperature) => ({
    id: `${prefix}-w2-${temperature}`,
    label: `W2 update-all: ${who}, ${temperature}`,
    temperature,
    workload: 'w2' as const,
    source: SMALL,
  }));
  return [...w1, ...w2];
}

/** The original Copa: copa-go-w1-cold/-warm, copa-go-w2-cold/-warm (small image). */
export function copaGoSingleContenders(ctx: BenchContext, env: CopaGoEnv, s: SingleSources): Contender[] {
  return buildkitSpecs('copa-go', 'Copa v0.14.2', s).map((spec) => copaGoContender(spec, env, ctx));
}

/** Ours on the BuildKit engine (--addr, the original Copa's buildkitd): copa-bk-w1-cold/-warm, copa-bk-w2-cold/-warm. */
export function ourBkSingleContenders(ctx: BenchContext, env: CopaGoEnv, s: SingleSources): Contender[] {
  return buildkitSpecs('copa-bk', 'ours on BuildKit', s).map((spec) => copaBkContender(spec, env, ctx));
}
