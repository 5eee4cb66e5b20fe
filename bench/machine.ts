import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';

/** The machine a bench ran on (recorded with every result: figures mean nothing without it). */
export interface Machine {
  cpus: number;
  cpuModel: string;
  memBytes: number;
  kernel: string;
  node: string;
  /** 1/5/15-minute load averages: the bench machine may be shared */
  loadBefore: string[];
  loadAfter: string[];
}

export function load(): string[] {
  return loadavg().map((n) => n.toFixed(2));
}

export function describeMachine(loadBefore: string[]): Machine {
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
    memBytes: totalmem(),
    kernel: release(),
    node: process.version,
    loadBefore,
    loadAfter: load(),
  };
}
