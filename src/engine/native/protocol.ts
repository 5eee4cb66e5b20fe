/**
 * Messages between the parent (sandbox.ts) and the child (child.ts) that lives inside the private
 * mount/pid/ipc/uts namespaces. The child owns every mount: when it dies, even by SIGKILL, the kernel
 * drops them.
 */

import type { BindMount, RootName } from '../types.js';

export type { BindMount, RootName };

export interface SandboxSpec {
  /** overlay layers, top-most first (each an extracted layer dir from the layer cache) */
  lowerdirs: string[];
  upperdir: string;
  workdir: string;
  /** where the merged tree is mounted (inside the namespace only) */
  merged: string;
  /** false: `merged` is a plain extracted tree (no overlayfs available) */
  overlay: boolean;
  binds: BindMount[];
  /** absolute paths inside the root that get an empty tmpfs for the run (e.g. /tmp, /run) */
  tmpfs: string[];
  /**
   * A second root (a tooling image that supplies the package manager): its own overlay whose changes are
   * thrown away, with the image root bind-mounted at `targetPath` inside it.
   */
  tooling?: ToolingSpec | undefined;
}

export interface ToolingSpec {
  lowerdirs: string[];
  upperdir: string;
  workdir: string;
  merged: string;
  /** where the image root appears inside the tooling root, e.g. /tmp/rootfs */
  targetPath: string;
}

export interface RunRequest {
  op: 'run';
  id: number;
  in?: RootName;
  argv: string[];
  env: Record<string, string>;
  stdin?: string;
}

export interface ReadRequest {
  op: 'read';
  id: number;
  in?: RootName;
  /** absolute path inside the image root; symlinks are resolved within the root */
  path: string;
}

export interface BindRequest {
  op: 'bind';
  id: number;
  in?: RootName;
  bind: BindMount;
}

export interface ListRequest {
  op: 'list';
  id: number;
  in?: RootName;
  /** absolute path of a directory inside the root */
  path: string;
}

/** The first message to a child started without a spec file (started early, see spawn.ts). */
export interface SetupRequest {
  op: 'setup';
  id: number;
  specFile: string;
}

export type Request =
  RunRequest | ReadRequest | BindRequest | ListRequest | SetupRequest | { op: 'close'; id: number };

export type Response =
  | { op: 'ready'; created: string[] }
  | { op: 'failed'; message: string }
  | { op: 'output'; id: number; stream: 'stdout' | 'stderr'; data: string }
  | { op: 'exit'; id: number; code: number; signal: string | null }
  | { op: 'file'; id: number; data: string | null /* base64; null = absent */ }
  | { op: 'bound'; id: number; created: string[] }
  | { op: 'names'; id: number; names: string[] | null /* null = not a directory */ }
  | { op: 'error'; id: number; message: string };
