import type { Logger } from '../log.js';
import type { Executor, RunOptions } from '../engine/types.js';
import type { VersionScheme } from '../version/types.js';
import type { PlannedUpdate } from './dpkg/parse.js';

export type { PlannedUpdate };

export interface PackageManagerContext {
  session: Executor;
  logger: Logger;
  ignoreErrors: boolean;
  onOutput?: RunOptions['onOutput'];
}

/**
 * One package-manager family (dpkg/apt, apk, rpm, pacman). The patch flow only talks to this contract:
 * refresh indexes, ask what would change (simulation), apply, and read what is installed.
 */
export interface PackageManager {
  readonly name: string;
  readonly scheme: VersionScheme;
  /** image paths holding indexes/download caches: bind-mounted from a shared cache, never in the layer */
  readonly cachePaths: readonly string[];
  /**
   * the subset of `cachePaths` that holds package indexes (written only by `refresh`): shared between runs
   * as a read-only generation (default: all of `cachePaths`)
   */
  readonly indexPaths?: readonly string[];
  /** files and directories (in `cacheRoot`) that define the package sources: part of the cache key */
  readonly sourcePaths?: readonly string[];
  /** image paths the package manager writes that do not belong in the layer (its own logs) */
  readonly excludePaths: readonly string[];
  /**
   * Set when the package manager is not in the image (distroless / tool-less): it runs in a tooling image,
   * with the image bound at `targetPath`. `images` are the candidate tooling images, best first.
   */
  readonly tooling?: { images(os: { type: string; version: string }): string[]; targetPath: string };
  /** where `cachePaths` are bound: in the image (default) or in the tooling root */
  readonly cacheRoot?: 'image' | 'tooling';
  installed(ctx: PackageManagerContext): Promise<Map<string, string>>;
  /** update the package indexes; `indexesFresh`: another run refreshed them moments ago (skip the download) */
  refresh(ctx: PackageManagerContext, opts?: { indexesFresh?: boolean }): Promise<void>;
  held(ctx: PackageManagerContext): Promise<string[]>;
  /** what `apply` would do; `names` null = update everything */
  simulate(ctx: PackageManagerContext, names: string[] | null): Promise<PlannedUpdate[]>;
  /** fetch what `apply` will install without installing it (run under the cache lock: downloads once) */
  download?(ctx: PackageManagerContext, names: string[] | null): Promise<void>;
  apply(ctx: PackageManagerContext, names: string[] | null): Promise<void>;
}
