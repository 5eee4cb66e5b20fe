import type { Logger } from '../log.js';
import type { RunOptions, SandboxSession } from '../engine/native/sandbox.js';
import type { VersionScheme } from '../version/types.js';
import type { PlannedUpdate } from './dpkg/parse.js';

export type { PlannedUpdate };

export interface PackageManagerContext {
  session: SandboxSession;
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
  refresh(ctx: PackageManagerContext): Promise<void>;
  held(ctx: PackageManagerContext): Promise<string[]>;
  /** what `apply` would do; `names` null = update everything */
  simulate(ctx: PackageManagerContext, names: string[] | null): Promise<PlannedUpdate[]>;
  apply(ctx: PackageManagerContext, names: string[] | null): Promise<void>;
}
