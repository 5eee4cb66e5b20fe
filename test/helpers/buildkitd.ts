import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { run } from './exec.js';
import { isAlive } from './fixtures.js';

/**
 * A real BuildKit daemon (buildkitd v0.28.1 built from Go modules by .ci/buildkit.sh; runc worker from Debian's
 * `runc`) for tests and the bench: a private socket, its own config (OCI worker on overlayfs, no GC, the given
 * registries over plain HTTP), host networking, and a private mount namespace that dies with it (so its overlay
 * mounts vanish with it even after a kill -9); stopped by its PID, whatever is still mounted under its root on
 * the host unmounted anyway.
 */

export interface BuildkitdPaths {
  buildkitd: string;
  buildctl: string;
}

export function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The binaries from COPA_TEST_BUILDKITD / COPA_TEST_BUILDCTL (set by .ci/run), else COPA_BENCH_BUILDKITD /
 * COPA_BENCH_BUILDCTL; a reason when one is missing or runc (the OCI worker's runtime) is not on PATH.
 */
export function buildkitdPaths(env: NodeJS.ProcessEnv = process.env): BuildkitdPaths | string {
  const paths: Partial<BuildkitdPaths> = {};
  for (const key of ['buildkitd', 'buildctl'] as const) {
    const names = [`COPA_TEST_${key.toUpperCase()}`, `COPA_BENCH_${key.toUpperCase()}`];
    const name = names.find((n) => env[n]?.trim());
    const path = name === undefined ? undefined : env[name]?.trim();
    if (name === undefined || path === undefined)
      return `no ${key}: set ${names[0]} (.ci/buildkit.sh builds it)`;
    if (!executable(path)) return `${key} ${path} (${name}) is not an executable file`;
    paths[key] = path;
  }
  const runc = (env.PATH ?? '').split(delimiter).some((d) => d !== '' && executable(join(d, 'runc')));
  if (!runc) return 'runc is not on PATH (apt-get install runc)';
  return paths as BuildkitdPaths;
}

/**
 * Why the BuildKit tests of a file skip (undefined: they run). With COPA_REQUIRE_TOOLS=1 (.ci/run) a missing
 * daemon is an error instead, so CI never passes by skipping them.
 */
export function buildkitdMissing(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const paths = buildkitdPaths(env);
  if (typeof paths !== 'string') return undefined;
  if (env.COPA_REQUIRE_TOOLS === '1')
    throw new Error(`buildkitd is required (COPA_REQUIRE_TOOLS=1) but ${paths}`);
  return paths;
}

/** buildkitd.toml: OCI worker on overlayfs, no GC, the given registries over plain HTTP. */
export function buildkitdToml(insecureRegistries: readonly string[]): string {
  return [
    '[worker.oci]',
    '  enabled = true',
    '  snapshotter = "overlayfs"',
    '  gc = false',
    '[worker.containerd]',
    '  enabled = false',
    ...insecureRegistries.flatMap((host) => [
      `[registry.${JSON.stringify(host)}]`,
      '  http = true',
      '  insecure = true',
    ]),
    '',
  ].join('\n');
}

/** `findmnt -l -n -o TARGET` output -> mount points, deepest first (the order to unmount them in). */
export function unmountOrder(findmntOutput: string): string[] {
  const targets = findmntOutput
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return [...new Set(targets)].sort(
    (a, b) => b.split('/').length - a.split('/').length || b.localeCompare(a),
  );
}

/** Mount points at or below `dir` in this mount namespace, deepest first. */
export async function mountsBelow(dir: string): Promise<string[]> {
  const found = await run('findmnt', ['-l', '-n', '-o', 'TARGET']).catch(() => ({ stdout: '' }));
  return unmountOrder(found.stdout).filter((t) => t === dir || t.startsWith(`${dir}/`));
}

/** Unmount every mount point at or below `dir` (deepest first; lazily when busy). */
export async function unmountBelow(dir: string, log: (m: string) => void): Promise<void> {
  const below = await mountsBelow(dir);
  for (const target of below) {
    try {
      await run('umount', [target]);
    } catch {
      await run('umount', ['-l', target]).catch((e: unknown) =>
        log(`cannot unmount ${target}: ${e instanceof Error ? e.message : String(e)}`),
      );
    }
  }
  if (below.length > 0) log(`unmounted ${below.length} mount(s) left under ${dir}`);
}

export interface Buildkitd {
  pid: number;
  /** unix://… */
  addr: string;
  /** the socket path of `addr` */
  socket: string;
  /** buildkitd's --root */
  root: string;
  /** its stdout + stderr */
  logFile: string;
  /** run buildctl against this daemon; resolves to its stdout */
  buildctl(args: string[]): Promise<string>;
  /** `buildctl prune --all`: a cold cache */
  prune(): Promise<void>;
  /** SIGTERM by PID (SIGKILL after 20 s), then unmount anything left under its root; idempotent */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const READY_TIMEOUT_MS = 60_000;

/** Start buildkitd with everything (config, socket, root, log) in `dir`, which stays after stop(). */
export async function launchBuildkitd(opts: {
  paths: BuildkitdPaths;
  dir: string;
  insecureRegistries: readonly string[];
  log: (m: string) => void;
}): Promise<Buildkitd> {
  const { dir, paths, log } = opts;
  await mkdir(dir, { recursive: true });
  const root = join(dir, 'root');
  const config = join(dir, 'buildkitd.toml');
  const socket = join(dir, 'buildkitd.sock');
  const addr = `unix://${socket}`;
  const logFile = join(dir, 'buildkitd.log');
  await writeFile(config, buildkitdToml(opts.insecureRegistries));
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    // setpriv: SIGTERM if our process dies; unshare without --fork execs buildkitd (same PID) in its own
    // mount namespace
    child = spawn(
      'setpriv',
      [
        '--pdeathsig=TERM',
        'unshare',
        '--mount',
        '--propagation=private',
        paths.buildkitd,
        '--config',
        config,
        '--root',
        root,
        '--addr',
        addr,
        '--oci-worker-net=host',
      ],
      { stdio: ['ignore', fd, fd], detached: true },
    );
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${paths.buildkitd}`);
  let exited = false;
  child.once('exit', () => (exited = true));
  const buildctl = async (args: string[]): Promise<string> =>
    (await run(paths.buildctl, ['--addr', addr, ...args])).stdout;

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (!exited && isAlive(pid)) {
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 200 && !exited && isAlive(pid); i++) await sleep(100);
      if (!exited && isAlive(pid)) {
        log(`buildkitd (pid ${pid}) did not stop in 20 s: SIGKILL`);
        process.kill(pid, 'SIGKILL');
        for (let i = 0; i < 50 && !exited; i++) await sleep(100);
      }
    }
    await unmountBelow(root, log);
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      await run(paths.buildctl, ['--addr', addr, 'debug', 'workers'], { timeoutMs: 15_000 });
      break;
    } catch (e) {
      if (exited || Date.now() > deadline) {
        await stop();
        const text = await readFile(logFile, 'utf8').catch(() => '');
        const why = exited ? 'exited' : `did not answer within ${READY_TIMEOUT_MS / 1000} s`;
        throw new Error(
          `buildkitd ${why} (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); last lines of ${logFile}:\n${text.trimEnd().split('\n').slice(-15).join('\n')}`,
          { cause: e },
        );
      }
      await sleep(200);
    }
  }
  return {
    pid,
    addr,
    socket,
    root,
    logFile,
    buildctl,
    async prune() {
      await buildctl(['prune', '--all']);
    },
    stop,
  };
}

export interface TestBuildkitd extends Buildkitd {
  /** the private temp dir (config, socket, root, log): removed by stop() */
  dir: string;
}

/**
 * buildkitd for a test, in a private temp dir `<tmp>/copa-test-buildkitd-<name>-XXXXXX`, from buildkitdPaths()
 * (throws its reason when the binaries are missing). stop() also removes the temp dir.
 */
export async function startBuildkitd(opts: {
  insecureRegistries: string[];
  name?: string;
  log?: (m: string) => void;
}): Promise<TestBuildkitd> {
  const paths = buildkitdPaths();
  if (typeof paths === 'string') throw new Error(`cannot start buildkitd: ${paths}`);
  const name = (opts.name ?? 'test').replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 32);
  const dir = await mkdtemp(join(tmpdir(), `copa-test-buildkitd-${name}-`));
  const log = opts.log ?? ((m: string) => process.stderr.write(`[buildkitd ${name}] ${m}\n`));
  let daemon: Buildkitd;
  try {
    daemon = await launchBuildkitd({ paths, dir, insecureRegistries: opts.insecureRegistries, log });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    ...daemon,
    dir,
    async stop() {
      await daemon.stop();
      const left = await mountsBelow(dir);
      if (left.length > 0)
        throw new Error(`mounts left under ${dir} after buildkitd stopped: ${left.join(' ')}`);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
