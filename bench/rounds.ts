import type { Contender } from './contender.js';
import type { ContenderResult } from './stats.js';

/**
 * Run the contenders: untimed preparation, then N rounds that alternate the contenders (each round starts
 * one further down the list, so no contender always follows the same one), then one profile run each.
 * A failed round is recorded and the run goes on; a contender whose preparation failed is left out.
 */

export interface RoundOptions {
  rounds: number;
  profile: boolean;
  log: (m: string) => void;
  aborted: () => boolean;
}

/** The order of the contenders in round `round` (1-based): rotated by round - 1. */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return [];
  const k = (round - 1) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** The contenders of `family` set aside with a reason (their `n/a (…)` rows), and the others. */
export function setAside(
  contenders: readonly Contender[],
  family: ContenderResult['family'],
  reason: string,
): { kept: Contender[]; rows: ContenderResult[] } {
  const rows = contenders
    .filter((c) => c.family === family)
    .map((c): ContenderResult => ({
      id: c.id,
      label: c.label,
      family: c.family,
      temperature: c.temperature,
      image: c.image,
      ...(c.workload === undefined ? {} : { workload: c.workload }),
      rounds: [],
      unavailable: reason,
    }));
  return { kept: contenders.filter((c) => c.family !== family), rows };
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export async function executeRounds(
  contenders: readonly Contender[],
  opts: RoundOptions,
): Promise<ContenderResult[]> {
  const results = new Map<string, ContenderResult>();
  for (const c of contenders) {
    results.set(c.id, {
      id: c.id,
      label: c.label,
      family: c.family,
      temperature: c.temperature,
      image: c.image,
      ...(c.workload === undefined ? {} : { workload: c.workload }),
      rounds: [],
    });
  }
  const ready: Contender[] = [];
  for (const c of contenders) {
    if (opts.aborted()) throw new Error('interrupted');
    opts.log(`preparing ${c.id}`);
    try {
      await c.prepare?.();
      ready.push(c);
    } catch (e) {
      opts.log(`preparing ${c.id} failed: ${message(e)}`);
      const r = results.get(c.id);
      if (r) r.errors = [`preparation: ${message(e)}`];
    }
  }
  for (let round = 1; round <= opts.rounds; round++) {
    for (const c of roundOrder(ready, round)) {
      if (opts.aborted()) throw new Error('interrupted');
      const r = results.get(c.id);
      if (!r) continue;
      try {
        const { inspect, phases, ...outcome } = await c.round(round);
        r.rounds.push(outcome);
        if (phases && !r.phases) r.phases = phases;
        if (!r.content && inspect) r.content = await inspect();
        const s = outcome.sample;
        opts.log(
          `round ${round}/${opts.rounds} ${c.id}: ${s.wallS.toFixed(2)} s wall, ${s.cpuS.toFixed(2)} s CPU, ${s.rssMiB.toFixed(0)} MiB`,
        );
      } catch (e) {
        if (opts.aborted()) throw e;
        opts.log(`round ${round} ${c.id} failed: ${message(e)}`);
        r.errors = [...(r.errors ?? []), message(e)];
      }
    }
  }
  if (opts.profile) {
    for (const c of ready.filter((x) => x.profile !== undefined)) {
      if (opts.aborted()) throw new Error('interrupted');
      opts.log(`profiling ${c.id} (one --debug run)`);
      const r = results.get(c.id);
      try {
        const phases = await c.profile?.();
        if (r && phases) r.phases = phases;
      } catch (e) {
        opts.log(`profiling ${c.id} failed: ${message(e)}`);
      }
    }
  }
  return [...results.values()];
}
