/**
 * Where a run's time went: the phases of one image (layers ready, package lists, install, layer
 * write, delivery), each logged at debug level as it ends and kept for the result (`timings`).
 */
import type { Logger } from '../log.js';

export interface PhaseTiming {
  phase: string;
  seconds: number;
}

export class Phases {
  private readonly done: PhaseTiming[] = [];

  constructor(private readonly logger: Logger) {}

  /** Record a phase that took `seconds` (a repeated phase adds up). */
  add(phase: string, seconds: number): void {
    this.logger.debug(`${phase} in ${seconds.toFixed(2)}s`);
    const seen = this.done.find((p) => p.phase === phase);
    if (seen) seen.seconds = round(seen.seconds + seconds);
    else this.done.push({ phase, seconds: round(seconds) });
  }

  async time<T>(phase: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    const value = await fn();
    this.add(phase, (performance.now() - start) / 1000);
    return value;
  }

  /** A stopwatch for consecutive phases: each call ends one phase and starts the next. */
  laps(): (phase: string) => void {
    let t = performance.now();
    return (phase) => {
      const now = performance.now();
      this.add(phase, (now - t) / 1000);
      t = now;
    };
  }

  list(): PhaseTiming[] {
    return this.done.map((p) => ({ ...p }));
  }
}

const round = (n: number): number => Math.round(n * 100) / 100;

/** The phase table `--timings` prints: one line per phase, seconds right-aligned, then the total. */
export function formatTimings(timings: readonly PhaseTiming[], totalSeconds: number): string[] {
  const rows: [string, string][] = timings.map((t) => [t.phase, t.seconds.toFixed(2)]);
  rows.push(['total (wall)', totalSeconds.toFixed(2)]);
  const w = Math.max('phase'.length, ...rows.map(([p]) => p.length));
  const v = Math.max('seconds'.length, ...rows.map(([, s]) => s.length));
  return [
    `${'phase'.padEnd(w)}  ${'seconds'.padStart(v)}`,
    ...rows.map(([p, s]) => `${p.padEnd(w)}  ${s.padStart(v)}`),
  ];
}
