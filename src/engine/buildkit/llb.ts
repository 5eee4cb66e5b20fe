/**
 * LLB, BuildKit's build graph: ops marshalled as pb.Op, named by the sha256 of their bytes, chained by
 * digest. Only the ops a patch needs: an image source, an exec with mounts, diff and merge.
 */
import { createHash } from 'node:crypto';
import type { Platform } from '../../oci/schemas.js';
import type { Definition, PbPlatform } from './api.js';
import { codec, field } from './proto.js';

interface PbOp {
  inputs: Array<{ digest: string; index: number }>;
  platform?: PbPlatform;
}

/** the op kinds we build: field number in pb.Op and message type */
const KINDS = {
  exec: [2, codec<unknown>('pb.ExecOp')],
  source: [3, codec<unknown>('pb.SourceOp')],
  file: [4, codec<unknown>('pb.FileOp')],
  merge: [6, codec<unknown>('pb.MergeOp')],
  diff: [7, codec<unknown>('pb.DiffOp')],
} as const;
type Kind = keyof typeof KINDS;

const opCodec = codec<PbOp>('pb.Op');

/**
 * pb.Op bytes as Go writes them: plain fields in number order, then the oneof. BuildKit re-marshals every op
 * and names it by those bytes, so any other order would give our ops names the daemon does not use.
 */
function encodeOp(op: PbOp, kind?: { [K in Kind]?: unknown }): Buffer {
  const parts = [opCodec.encode(op)];
  for (const [name, body] of Object.entries(kind ?? {})) {
    const [num, c] = KINDS[name as Kind];
    parts.push(field(num, c.encode(body)));
  }
  return Buffer.concat(parts);
}

export interface Vertex {
  digest: string;
  bytes: Buffer;
  inputs: Vertex[];
}

/** one output of a vertex */
export interface State {
  vertex: Vertex;
  index: number;
}

function vertex(kind: { [K in Kind]?: unknown }, platform: PbPlatform | undefined, inputs: State[]): Vertex {
  const op: PbOp = { inputs: inputs.map((s) => ({ digest: s.vertex.digest, index: s.index })) };
  if (platform) op.platform = platform;
  const bytes = encodeOp(op, kind);
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  return { digest, bytes, inputs: inputs.map((s) => s.vertex) };
}

export function pbPlatform(p: Platform): PbPlatform {
  return { Architecture: p.architecture, OS: p.os, ...(p.variant ? { Variant: p.variant } : {}) };
}

/** `docker-image://REF` for one platform (REF should carry its digest) */
export function image(ref: string, platform: Platform): State {
  return {
    vertex: vertex({ source: { identifier: `docker-image://${ref}`, attrs: {} } }, pbPlatform(platform), []),
    index: 0,
  };
}

/**
 * A tree holding one file, `/name` with `data` (mode 0644, owner root, a fixed time): how a host file is
 * handed to an exec, mounted by a selector, since the daemon cannot see the client's files.
 */
export function file(name: string, data: Buffer): State {
  const mkfile = { path: `/${name}`, mode: 0o644, data };
  const action = { input: -1, secondaryInput: -1, output: 0, mkfile };
  return { vertex: vertex({ file: { actions: [action] } }, undefined, []), index: 0 };
}

export type ExecMount =
  | { dest: string; state: State; readonly?: boolean; selector?: string }
  | { dest: string; cache: string }
  | { dest: string; tmpfs: true };

export interface ExecSpec {
  root: State;
  args: string[];
  env: Record<string, string>;
  platform: Platform;
  cwd?: string;
  /** extra mounts; a state mount that is not read-only gets an output */
  mounts?: ExecMount[];
}

/*
 * No exec is marked ignore_cache: BuildKit then starts that solve's cache mounts empty (as for --no-cache),
 * which would lose the package lists between steps. Callers that must not reuse an earlier run's result put
 * a per-run value in the environment instead.
 */

const MOUNT = { BIND: 0, CACHE: 3, TMPFS: 4 } as const;
const LOCKED = 2;

/** Run argv over `root`; returns the new root and the outputs of writable state mounts (by dest). */
export function exec(spec: ExecSpec): { root: State; mounts: Map<string, State> } {
  const inputs: State[] = [spec.root];
  const pbMounts: unknown[] = [{ input: 0, dest: '/', output: 0 }];
  const outputs: string[] = ['/'];
  for (const m of spec.mounts ?? []) {
    if ('state' in m) {
      inputs.push(m.state);
      const writable = !m.readonly;
      pbMounts.push({
        input: inputs.length - 1,
        dest: m.dest,
        output: writable ? outputs.length : -1,
        readonly: !writable,
        ...(m.selector ? { selector: m.selector } : {}),
      });
      if (writable) outputs.push(m.dest);
    } else if ('cache' in m) {
      pbMounts.push({
        input: -1,
        dest: m.dest,
        output: -1,
        mountType: MOUNT.CACHE,
        cacheOpt: { ID: m.cache, sharing: LOCKED },
      });
    } else {
      pbMounts.push({ input: -1, dest: m.dest, output: -1, mountType: MOUNT.TMPFS, TmpfsOpt: {} });
    }
  }
  const env = Object.keys(spec.env)
    .sort()
    .map((k) => `${k}=${spec.env[k]}`);
  const v = vertex(
    {
      exec: {
        meta: { args: spec.args, env, cwd: spec.cwd ?? '/', removeMountStubsRecursive: true },
        mounts: pbMounts,
      },
    },
    pbPlatform(spec.platform),
    inputs,
  );
  const mounts = new Map<string, State>();
  outputs.forEach((dest, index) => mounts.set(dest, { vertex: v, index }));
  return { root: { vertex: v, index: 0 }, mounts };
}

export function diff(lower: State, upper: State): State {
  return {
    vertex: vertex({ diff: { lower: { input: 0 }, upper: { input: 1 } } }, undefined, [lower, upper]),
    index: 0,
  };
}

export function merge(states: State[]): State {
  return {
    vertex: vertex({ merge: { inputs: states.map((_, i) => ({ input: i })) } }, undefined, states),
    index: 0,
  };
}

/** The definition of `state`: every vertex it needs, inputs first, then the terminal op that names it. */
export function definition(state: State): Definition {
  const seen = new Map<string, Vertex>();
  const order: Vertex[] = [];
  const visit = (v: Vertex): void => {
    if (seen.has(v.digest)) return;
    seen.set(v.digest, v);
    for (const i of v.inputs) visit(i);
    order.push(v);
  };
  visit(state.vertex);
  const terminal = encodeOp({ inputs: [{ digest: state.vertex.digest, index: state.index }] });
  return { def: [...order.map((v) => v.bytes), terminal], metadata: {} };
}
