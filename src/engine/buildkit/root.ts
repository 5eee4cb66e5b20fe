/**
 * An image root on a BuildKit daemon: every `run` is one exec op over the current state, solved at once
 * through the gateway (output from the status stream, exit code from the failure); reads go through the
 * gateway too. Host directory binds become the daemon's cache mounts (keyed by the host path, which names
 * the package cache key). The one layer is the diff of the base and the final state, exported to us.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CopaError } from '../../errors.js';
import { squashLayers } from '../../layers/squash.js';
import type { BaseEntry } from '../../layers/squash-base.js';
import type { Platform } from '../../oci/schemas.js';
import { sandboxEnv } from '../env.js';
import type {
  BindMount,
  Executor,
  ImageRoot,
  ImageRootOptions,
  RootName,
  RunOptions,
  RunResult,
  ToolingRoot,
} from '../types.js';
import type { Stat } from './api.js';
import { Build, exitCodeOf } from './build.js';
import { exportedLayers, savedLayers } from './export.js';
import * as llb from './llb.js';
import { grpcMessage } from './rpc.js';
import type { Session } from './session.js';
import { BASE_MOUNT, keepUnchangedOut } from './unchanged.js';

/**
 * Scratch dirs: a tmpfs per session on the native engine. Here they stay in the state from step to step (a
 * step may leave files for the next, e.g. npm's tarballs, and reads go through the gateway, which sees no
 * mounts) and are left out of the layer like the native engine's tmpfs.
 */
const SCRATCH_DIRS = ['/tmp', '/var/tmp'];
/** mount points the container runtime makes for every exec; new ones are no change of the image */
const RUNTIME_MOUNTS = ['dev', 'proc', 'sys'];

interface Tooling {
  state: llb.State;
  targetPath: string;
}

export class BuildkitRoot implements ImageRoot {
  readonly mode = 'overlay' as const;
  readonly hostBinds = false;
  private state: llb.State;
  private readonly base: llb.State;
  private tooling: Tooling | undefined;
  private readonly mounts: Record<RootName, llb.ExecMount[]> = { image: [], tooling: [] };
  private readonly refs = new Map<string, Promise<string>>();
  private current: Executor;
  /** re-patching: the earlier patch layers' blobs, fetched while the daemon works */
  private readonly seeds: Promise<string[]>;

  constructor(
    private readonly build: Build,
    private readonly tunnel: Session,
    private readonly exportFile: string,
    private readonly platform: Platform,
    private readonly opts: ImageRootOptions,
    imageRef: string,
  ) {
    this.base = llb.image(imageRef, platform);
    this.state = this.base;
    this.tooling = this.toolingState(opts.tooling);
    this.current = this.executor();
    this.seeds = savedLayers(opts.seedLayers ?? [], opts.workDir);
    // awaited by writeLayer; a run that ends earlier must not leave the failure unhandled
    this.seeds.catch(() => undefined);
  }

  get session(): Executor {
    return this.current;
  }

  private toolingState(t: ToolingRoot | undefined): Tooling | undefined {
    if (!t) return undefined;
    if (!t.ref) throw new CopaError('INTERNAL', 'the BuildKit engine needs the tooling image by reference');
    return { state: llb.image(t.ref, this.platform), targetPath: t.targetPath };
  }

  private ref(state: llb.State): Promise<string> {
    const key = `${state.vertex.digest}#${state.index}`;
    let ref = this.refs.get(key);
    if (!ref) {
      ref = this.build.solve(state);
      this.refs.set(key, ref);
      ref.catch(() => this.refs.delete(key));
    }
    return ref;
  }

  private async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    const where = opts.in ?? 'image';
    // a per-build value: a step is never answered from an earlier run's cache (package lists move on)
    const env: Record<string, string> = { ...(opts.env ?? sandboxEnv()), COPA_BUILD: this.build.ref };
    let args = argv;
    if (opts.stdin !== undefined) {
      // an exec op has no stdin: the text travels in the environment and a shell pipes it in
      env.COPA_STDIN = opts.stdin;
      args = ['/bin/sh', '-c', 'printf "%s" "$COPA_STDIN" | "$@"', 'sh', ...argv];
    }
    let next: llb.State;
    let nextTooling: llb.State | undefined;
    if (where === 'tooling') {
      const t = this.tooling;
      if (!t) throw new CopaError('INTERNAL', 'a command asked for the tooling root, but none is open');
      const e = llb.exec({
        root: t.state,
        args: keepUnchangedOut(args, t.targetPath),
        env,
        platform: this.platform,
        mounts: [{ dest: t.targetPath, state: this.state }, ...this.mounts.tooling, this.baseMount()],
      });
      const out = e.mounts.get(t.targetPath);
      if (!out) throw new CopaError('INTERNAL', 'the exec op lost its image mount');
      next = out;
      // the tooling root keeps what its tools leave (downloads, scratch dirs) until it is reopened
      nextTooling = e.root;
    } else {
      next = llb.exec({
        root: this.state,
        args: this.imageHasShell ? keepUnchangedOut(args, '/') : args,
        env,
        platform: this.platform,
        mounts: [...this.mounts.image, ...(this.imageHasShell ? [this.baseMount()] : [])],
      }).root;
    }
    this.opts.signal?.throwIfAborted();
    try {
      const ref = this.build.solve(next, opts.onOutput);
      this.refs.set(`${next.vertex.digest}#${next.index}`, ref);
      await ref;
    } catch (e) {
      this.opts.signal?.throwIfAborted();
      const message = grpcMessage(e);
      const code = exitCodeOf(message);
      if (code === undefined) {
        throw new CopaError('ENGINE', `BuildKit could not run ${argv[0] ?? ''}: ${message}`, {
          hint: 'check the daemon (buildctl debug workers) and run with --debug',
        });
      }
      const logs = await this.build.output(next);
      return { code, ...logs };
    }
    this.state = next;
    if (nextTooling && this.tooling) this.tooling.state = nextTooling;
    const logs = await this.build.output(next);
    this.opts.logger.debug(
      `BuildKit: ${argv.join(' ').slice(0, 80)}: exit 0, ${logs.stdout.length} bytes of output`,
    );
    return { code: 0, ...logs };
  }

  private executor(): Executor {
    const stateOf = (root: RootName = 'image'): llb.State => {
      if (root === 'image') return this.state;
      if (!this.tooling) throw new CopaError('INTERNAL', 'no tooling root is open');
      return this.tooling.state;
    };
    return {
      created: [],
      bind: async (mount: BindMount, root: RootName = 'image') => {
        if (mount.kind === 'file') {
          // the daemon cannot see our files: the bytes travel in the build graph, mounted read-only
          const state = llb.file('file', await readFile(mount.source));
          this.mounts[root].push({ dest: mount.target, state, readonly: true, selector: 'file' });
          return;
        }
        const id = `copa-${createHash('sha256').update(mount.source).digest('hex').slice(0, 24)}`;
        this.mounts[root].push({ dest: mount.target, cache: id });
      },
      run: (argv, opts) => this.run(argv, opts),
      readFile: async (path, root) => this.build.readFile(await this.ref(stateOf(root)), path),
      list: async (path, root) => {
        const entries = await this.build.readDir(await this.ref(stateOf(root)), path);
        return entries?.map((e) => e.path).sort();
      },
      close: () => Promise.resolve(),
    };
  }

  reopen(tooling?: ToolingRoot): Promise<Executor> {
    this.tooling = this.toolingState(tooling);
    this.mounts.tooling = [];
    this.current = this.executor();
    return Promise.resolve(this.current);
  }

  private runtimeCreated: string[] = [];
  private imageHasShell = false;

  /** the base image, read-only, for leaving files rewritten unchanged out of the layer (unchanged.ts) */
  private baseMount(): llb.ExecMount {
    return { dest: BASE_MOUNT, state: this.base, readonly: true };
  }

  /**
   * Note which runtime mount points the image lacks (they appear in every exec and are left out), and
   * whether it has a shell to run the unchanged-file check in (an image without one only runs its
   * package manager through a tooling root).
   */
  async init(): Promise<this> {
    const top = (await this.current.list('/')) ?? [];
    this.runtimeCreated = RUNTIME_MOUNTS.filter((d) => !top.includes(d)).map((d) => `/${d}`);
    for (const dir of ['/bin', '/usr/bin']) {
      if ((await this.current.list(dir).catch(() => undefined))?.includes('sh')) this.imageHasShell = true;
    }
    return this;
  }

  created(): string[] {
    return [...this.runtimeCreated, ...SCRATCH_DIRS];
  }

  async writeLayer(outFile: string, packOpts: Parameters<ImageRoot['writeLayer']>[1]) {
    const t0 = performance.now();
    const secs = (): string => ((performance.now() - t0) / 1000).toFixed(2);
    await this.build.finish(llb.diff(this.base, this.state));
    await this.tunnel.output();
    this.opts.logger.debug(`BuildKit: diff exported in ${secs()}s`);
    const blobs = await exportedLayers(this.exportFile, this.opts.workDir);
    const seeds = await this.seeds;
    this.opts.logger.debug(
      `BuildKit: ${blobs.length} exported layer(s) received in ${secs()}s; squashing them${seeds.length ? ` over ${seeds.length} earlier patch layer(s)` : ''} into one`,
    );
    // against the base image: leave out what changes nothing in it (not when squashing over earlier patch
    // layers, whose base is further down than the image the daemon ran over); the patch build has ended, so
    // the base is read through a second build that exports nothing
    if (seeds.length) return squashLayers([...seeds, ...blobs], outFile, packOpts);
    const lookups = this.build.sibling();
    try {
      const baseRef = lookups.solve(this.base);
      baseRef.catch(() => undefined); // awaited by the lister, which may never be asked
      const lister = async (dir: string) =>
        (await lookups.readDir(await baseRef, `/${dir}`))?.map((e) => baseEntry(e));
      return await squashLayers(blobs, outFile, packOpts, lister);
    } finally {
      await lookups.abort('copa: base read');
    }
  }

  async dispose(): Promise<void> {
    await this.build.abort('copa: nothing to export');
    this.tunnel.close();
  }
}

/** Go's os.FileMode bits (fsutil's Stat.mode) as a tar header's mode */
const GO_DIR = 2 ** 31;
const GO_SETUID = 2 ** 23;
const GO_SETGID = 2 ** 22;
const GO_STICKY = 2 ** 20;

export function baseEntry(e: Stat): BaseEntry {
  const m = e.mode;
  const special = (m & GO_SETUID ? 0o4000 : 0) | (m & GO_SETGID ? 0o2000 : 0) | (m & GO_STICKY ? 0o1000 : 0);
  return {
    name: e.path.split('/').pop() ?? e.path,
    dir: Math.floor(m / GO_DIR) % 2 === 1,
    mode: (m & 0o777) | special,
    uid: e.uid ?? 0,
    gid: e.gid ?? 0,
  };
}
