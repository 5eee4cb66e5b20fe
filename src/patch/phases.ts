/**
 * Where a run's time went: the phases of one image (layers ready, package lists, install, layer
 * write, delivery), each logged at debug level as it ends and kept for the result (`timings`).
 */
import type { Logger } from '../log.js';

export interface PhaseTiming {
  phase: string;
  seconds: number;
}

/** What a progress display hears: a phase of one platform starts, moves on (detail), ends or fails. */
export interface ProgressEvent {
  /** the platform (os/arch[/variant]) the phase belongs to */
  platform: string;
  phase: string;
  state: 'start' | 'update' | 'done' | 'fail';
  /** e.g. "34.2/65.0 MiB, 1/2 layers" or "package 5/19" */
  detail?: string;
  seconds?: number;
}

export type ProgressSink = (e: ProgressEvent) => void;

export class Phases {
  private readonly done: PhaseTiming[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly sink?: ProgressSink,
    private readonly platform = '',
  ) {}

  private emit(e: Omit<ProgressEvent, 'platform'>): void {
    this.sink?.({ platform: this.platform, ...e });
  }

  /** A running phase moved on (bytes pulled, packages installed). */
  update(phase: string, detail: string): void {
    this.emit({ phase, state: 'update', detail });
  }

  /** Record a phase that took `seconds` (a repeated phase adds up). */
  add(phase: string, seconds: number): void {
    this.emit({ phase, state: 'done', seconds });
    this.logger.debug(`${phase} in ${seconds.toFixed(2)}s`);
    const seen = this.done.find((p) => p.phase === phase);
    if (seen) seen.seconds = round(seen.seconds + seconds);
    else this.done.push({ phase, seconds: round(seconds) });
  }

  async time<T>(phase: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    this.emit({ phase, state: 'start' });
    let value: T;
    try {
      value = await fn();
    } catch (e) {
      this.emit({ phase, state: 'fail', seconds: (performance.now() - start) / 1000 });
      throw e;
    }
    this.add(phase, (performance.now() - start) / 1000);
    return value;
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
