/**
 * The contract of one language ecosystem's patcher (Python, Node.js, Go, .NET). The patch flow hands it the
 * library entries of the report (one chosen version each, see select.ts) and an executor over the image;
 * it runs the ecosystem's own tools, in the image or in a tooling image, and says what it changed.
 * Adapters import only this file, `../engine/types.ts` and `../engine/env.ts`.
 */
import type { Executor, ToolingRoot } from '../engine/types.js';
import type { Logger } from '../log.js';
import type { UpdatePackage } from '../report/types.js';

/** Report ecosystem types (Trivy's `Results[].Type` names; Grype's are mapped onto them). */
export type LibraryType = 'python-pkg' | 'node-pkg' | 'gomod' | 'gobinary' | 'dotnet-core';

/** One library change: planned (dry run) or done. */
export interface LibraryChange {
  /** report type, e.g. python-pkg */
  type: string;
  name: string;
  /** where it lives in the image: a venv, an app dir, a binary, a site-packages dir */
  path: string;
  from: string;
  to: string;
}

export interface LibraryFailure {
  type: string;
  name: string;
  path: string;
  required: string;
  /** what is installed after the attempt (null: unknown / not found) */
  installed: string | null;
  reason: string;
}

/** Where packages come from: flags first, then the host's env variables, then the image's own config. */
export interface PackageIndexes {
  /** --pip-index-url / PIP_INDEX_URL on the host */
  pipIndexUrl?: string | undefined;
  /** --npm-registry / NPM_CONFIG_REGISTRY on the host */
  npmRegistry?: string | undefined;
  /** --goproxy / GOPROXY on the host (with GOPRIVATE, GONOSUMDB, GONOSUMCHECK, GOSUMDB, GOFLAGS passed along) */
  goproxy?: string | undefined;
  /** other Go variables to pass through (GOPRIVATE, GONOSUMDB, GOSUMDB, GOINSECURE, GONOPROXY) */
  goEnv?: Record<string, string> | undefined;
}

/** Facts of the image config the adapters use (ENV lines, labels, history). */
export interface ImageFacts {
  /** `KEY=value` lines of the image config */
  env: string[];
  labels: Record<string, string>;
  /** history `created_by` lines, oldest first */
  history: string[];
  /** e.g. linux/amd64 */
  platform: { os: string; architecture: string; variant?: string | undefined };
  /** the image's tag (Go source fallback) */
  tag?: string | undefined;
}

export interface LanguageContext {
  /** the open executor over the image (replaced by `withTooling`) */
  exec(): Executor;
  /**
   * Open a tooling image beside the image (first candidate that resolves, after --tooling-image maps):
   * returns the new executor, where commands can run `in: 'tooling'` with the image at `targetPath`.
   */
  withTooling(candidates: string[], targetPath: string): Promise<Executor>;
  /** back to an executor over the image alone */
  withoutTooling(): Promise<Executor>;
  /**
   * Extra env for package tools (CA bundle of the host made visible for this run only, index URLs). Call
   * after each `withTooling`/`withoutTooling`, with the root the command runs in.
   */
  toolEnv(root: 'image' | 'tooling'): Promise<Record<string, string>>;
  indexes: PackageIndexes;
  image: ImageFacts;
  logger: Logger;
  ignoreErrors: boolean;
  dryRun: boolean;
  signal: AbortSignal;
  onOutput?: ((stream: 'stdout' | 'stderr', data: string) => void) | undefined;
  /** Go only: rebuild binaries for stdlib fixes (--toolchain-patch-level) */
  toolchainPatchLevel?: string | undefined;
  /** Go only: --go-vcs-url */
  goVcsUrl?: string | undefined;
}

export interface LanguageResult {
  /** what changed (or, in a dry run, what would change) */
  changes: LibraryChange[];
  failed: LibraryFailure[];
  /** report entries the image does not contain, or already at/above the fix */
  skipped: Array<{ name: string; path: string; reason: string }>;
  /** image paths written that must not enter the layer (caches, logs) */
  excluded: string[];
}

export interface LanguageManager {
  /** short name for messages: python, node, go, dotnet */
  readonly name: string;
  /** report types it handles */
  readonly types: readonly LibraryType[];
  /**
   * Patch these report entries (each already carries the one chosen `fixedVersion`). Without
   * `ignoreErrors`, a failure throws a CopaError; with it, failures are returned in `failed`.
   */
  patch(ctx: LanguageContext, updates: UpdatePackage[]): Promise<LanguageResult>;
}

export type { ToolingRoot };
