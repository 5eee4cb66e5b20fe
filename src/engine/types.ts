/**
 * The engine contract: everything the patch flow and the package-manager adapters may know about the thing
 * that runs commands over an image. The native engine (overlayfs + namespaces, `native/`) implements it;
 * adapters import only this file (and `env.ts`), never an engine's internals.
 */
import type { Layer } from '../oci/image.js';
import type { Logger } from '../log.js';
import type { Platform } from '../oci/schemas.js';
import type { PackOptions, WrittenLayer } from '../layers/tar-pack.js';

/** which root a command runs in: the image, or the tooling image that supplies a missing tool */
export type RootName = 'image' | 'tooling';

/** a host directory or file made visible at a path of a root for the rest of a session */
export interface BindMount {
  /** host path */
  source: string;
  /** absolute path inside the root, e.g. /var/lib/apt/lists */
  target: string;
  kind: 'dir' | 'file';
  readOnly?: boolean;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** run in the image (default) or in the tooling root (where the image is bound at its targetPath) */
  in?: RootName;
  env?: Record<string, string>;
  stdin?: string;
  /** live output (progress display) */
  onOutput?: (stream: 'stdout' | 'stderr', data: string) => void;
}

/** An open image root: run argv in it (or in its tooling root), read files, add mounts. */
export interface Executor {
  /** image paths that had to be created as mount points (exclude them from the diff) */
  readonly created: readonly string[];
  /** bind-mount a host path over an image (or tooling) path for the rest of the session */
  bind(mount: BindMount, root?: RootName): Promise<void>;
  run(argv: string[], opts?: RunOptions): Promise<RunResult>;
  /** read a file of a root (symlinks resolved inside the root); undefined when absent */
  readFile(path: string, root?: RootName): Promise<Buffer | undefined>;
  /** names in a directory of a root (sorted); undefined when it is not a directory */
  list(path: string, root?: RootName): Promise<string[] | undefined>;
  close(): Promise<void>;
}

/** A tooling image opened beside the image: its extracted layers, and where the image appears in it. */
export interface ToolingRoot {
  layerDirs: string[];
  /** the tooling image as the registry names it, with its digest (engines that pull for themselves) */
  ref?: string | undefined;
  /** e.g. /tmp/rootfs */
  targetPath: string;
}

export interface ImageRootOptions {
  /** extracted layer dirs (overlay form), bottom layer first (empty when the engine pulls for itself) */
  layerDirs: string[];
  /** the image as the registry names it, with its digest, and its platform */
  image?: { ref: string; platform: Platform } | undefined;
  /** this run's scratch dir */
  workDir: string;
  /**
   * The image's uncompressed size (its cached layers). Given, the upper dir may go into memory when there is
   * room (see native/scratch.ts); the work dir must then be removed with the engine's `removeWorkDir`.
   */
  imageBytes?: number | undefined;
  logger: Logger;
  signal?: AbortSignal;
  /**
   * Layers (overlay form, bottom first) that sit above `layerDirs` but belong to the changes: a previous patch
   * being squashed into the new one (re-patching).
   */
  seedDirs?: string[] | undefined;
  /**
   * The same earlier patch layers as blobs, for an engine that pulls the image itself (BuildKit): its
   * daemon runs over the whole image and the blobs are squashed under the new diff.
   */
  seedLayers?: Layer[] | undefined;
  /** a tooling image whose tools work on the image bound at targetPath */
  tooling?: ToolingRoot | undefined;
}

/** The image being patched: every change made through its sessions becomes the one new layer. */
export interface ImageRoot {
  /** the open session (replaced by `reopen`) */
  readonly session: Executor;
  /** 'overlay': changes land in an upperdir; 'copy': a plain tree diffed against a snapshot */
  readonly mode: 'overlay' | 'copy';
  /** the dir in memory (a tmpfs) that holds the upper dir, when it is there */
  readonly memoryScratch?: string | undefined;
  /** host directories can be bound in (false: binds become the daemon's own cache mounts) */
  readonly hostBinds: boolean;
  /**
   * Close the session and open a new one over the same changes, with another (or no) tooling image:
   * OS packages first, then each language manager with its own tooling image.
   */
  reopen(tooling?: ToolingRoot): Promise<Executor>;
  /** mount points any session so far had to create in the image (never part of the layer) */
  created(): string[];
  /** after the session is closed: write every change made through it as one layer blob */
  writeLayer(outFile: string, opts: PackOptions): Promise<WrittenLayer>;
  /** release what the root holds when no layer is written (an engine with a build to end) */
  dispose?(): Promise<void>;
}

/** One way of running the patch: the native engine today, BuildKit later. */
export interface Engine {
  readonly name: string;
  /** the engine pulls the image itself (layers are not pulled and extracted here) */
  readonly pullsImages: boolean;
  /** connect and check capabilities before any work (a daemon engine) */
  prepare?(logger: Logger): Promise<void>;
  /** release connections at the end of the run */
  close?(): Promise<void>;
  /** fail early, with the next step, when this machine cannot run the engine (e.g. not root) */
  check(): void;
  /** fail early when `platform` cannot run here (no emulation registered) */
  checkPlatform(platform: Platform): Promise<void>;
  /** undefined when `platform` can run here, else how to make it run (checked before any work) */
  platformHint(platform: Platform): Promise<string | undefined>;
  /** a private scratch dir for one run under `base` (leftovers of dead runs removed) */
  createWorkDir(base: string, logger: Logger): Promise<string>;
  /** keep a work dir for the user (--debug): later runs never remove it; returns its (new) path */
  keepWorkDir(dir: string): Promise<string>;
  /** remove a work dir at the end of a run, with whatever of it lives elsewhere */
  removeWorkDir(dir: string): Promise<void>;
  openImageRoot(opts: ImageRootOptions): Promise<ImageRoot>;
}
