import type { LayerContent } from './layer.js';
import type { CountingProxy } from './proxy.js';
import type { Family, RoundResult, Temperature } from './stats.js';

/** One thing the bench times: our CLI in some mode, or a peer. */

export interface BenchContext {
  /** scratch space of this bench run (removed at the end) */
  workDir: string;
  /** path of the CLI's main.js */
  cli: string;
  /** host:port of the counting proxy in front of the registry */
  proxyHost: string;
  proxy: CountingProxy;
  /** host:port of the registry itself (for reading results back, not counted) */
  registryHost: string;
  /** package names the fixture can upgrade today (for the layer's Installed-Size check) */
  upgradable: string[];
  log: (message: string) => void;
  /** keep the full output of a failed command (in bench/results/); returns the file's path */
  keepLog: (name: string, text: string) => Promise<string>;
}

export interface RoundOutcome extends RoundResult {
  /** phase timings of this round, when the contender can tell them without an extra run */
  phases?: Record<string, number>;
  /** read the new layer's content (called for the first round only) */
  inspect?: () => Promise<LayerContent>;
}

export interface Contender {
  id: string;
  label: string;
  family: Family;
  temperature: Temperature;
  /** `small`, `10x` or `w4` */
  image: string;
  /** `w1`, `w2`, `w4` (rows of one workload are compared with the original Copa's) */
  workload?: string;
  /** untimed set-up (warm caches, extracted trees) */
  prepare?(): Promise<void>;
  round(n: number): Promise<RoundOutcome>;
  /** phase timings from one extra, untimed run */
  profile?(): Promise<Record<string, number>>;
}
