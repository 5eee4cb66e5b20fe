/**
 * Messages between the parent (sandbox.ts) and the child (child.ts) that lives inside the private
 * mount/pid/ipc/uts namespaces. The child owns every mount: when it dies, even by SIGKILL, the kernel
 * drops them.
 */

export interface BindMount {
  /** host path */
  source: string;
  /** absolute path inside the image root, e.g. /var/lib/apt/lists */
  target: string;
  kind: 'dir' | 'file';
  readOnly?: boolean;
}

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
}

export interface RunRequest {
  op: 'run';
  id: number;
  argv: string[];
  env: Record<string, string>;
  stdin?: string;
}

export interface ReadRequest {
  op: 'read';
  id: number;
  /** absolute path inside the image root; symlinks are resolved within the root */
  path: string;
}

export interface BindRequest {
  op: 'bind';
  id: number;
  bind: BindMount;
}

export type Request = RunRequest | ReadRequest | BindRequest | { op: 'close'; id: number };

export type Response =
  | { op: 'ready'; created: string[] }
  | { op: 'failed'; message: string }
  | { op: 'output'; id: number; stream: 'stdout' | 'stderr'; data: string }
  | { op: 'exit'; id: number; code: number; signal: string | null }
  | { op: 'file'; id: number; data: string | null /* base64; null = absent */ }
  | { op: 'bound'; id: number; created: string[] }
  | { op: 'error'; id: number; message: string };
