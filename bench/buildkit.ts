import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, openSync, closeSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../test/helpers/exec.js';
import { isAlive } from '../test/helpers/fixtures.js';
import { onPath } from './tools.js';

/**
 * A BuildKit daemon for the original Copa (the peer): started by the bench from binaries the user gives
 * (COPA_BENCH_BUILDKITD / COPA_BENCH_BUILDCTL or --buildkitd / --buildctl; nothing is built here), on a
 * private socket, with the bench's registry marked plain-HTTP, stopped by its PID at the end. It runs in a
 * private mount namespace that dies with it (so its overlay mounts vanish with it even after a kill -9),
 * and whatever is still mounted under its root on the host afterwards is unmounted anyway.
 */

export interface PeerPaths {
  copa: string;
  buildkitd: string;
  buildctl: string;
}

export interface PeerFlags {
  peerCopa?: string;
  buildkitd?: string;
  buildctl?: string;
}

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * The peer's binaries from the flags, else the environment; a reason (for the `n/a (…)` rows) when one is
 * missing. `runc` must be on PATH (buildkitd's OCI worker).
 */
export function peerPaths(flags: PeerFlags, env: NodeJS.ProcessEnv = process.env): PeerPaths | string {
  const pick = (flag: string | undefined, name: string): string | undefined =>
    flag ?? (env[name]?.trim() || undefined);
  const want: Array<[keyof PeerPaths, string | undefined, string, string]> = [
    ['copa', pick(flags.peerCopa, 'COPA_BENCH_COPA'), 'COPA_BENCH_COPA', '--peer-copa'],
    ['buildkitd', pick(flags.buildkitd, 'COPA_BENCH_BUILDKITD'), 'COPA_BENCH_BUILDKITD', '--buildkitd'],
    ['buildctl', pick(flags.buildctl, 'COPA_BENCH_BUILDCTL'), 'COPA_BENCH_BUILDCTL', '--buildctl'],
  ];
  const paths: Partial<PeerPaths> = {};
  for (const [key, path, envName, flag] of want) {
    if (path === undefined) return `n/a (no ${key}: set ${envName} or ${flag})`;
    if (!executable(path)) return `n/a (${key} ${path} is not an executable file)`;
    paths[key] = path;
  }
  if (!onPath('runc', env.PATH)) return 'n/a (runc not on PATH: apt-get install runc)';
  return paths as PeerPaths;
}

/** buildkitd.toml: OCI worker on overlayfs, no GC during the bench, the given registries over plain HTTP. */
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

/** The names under which Copa v0.14.2 pulls its Debian tooling image (two registries × two tags). */
export const TOOLING_SOURCES: readonly string[] = [
  'ghcr.io/project-copacetic/copacetic/debian:12-slim',
  'ghcr.io/project-copacetic/copacetic/debian:stable-slim',
  'docker.io/library/debian:12-slim',
  'docker.io/library/debian:stable-slim',
];

/** A BuildKit source policy (EXPERIMENTAL_BUILDKIT_SOURCE_POLICY) that serves every tooling name from `target`. */
export function sourcePolicy(target: string): {
  rules: Array<{
    action: 'CONVERT';
    selector: { identifier: string };
    updates: { identifier: string };
  }>;
} {
  return {
    rules: TOOLING_SOURCES.map((name) => ({
      action: 'CONVERT',
      selector: { identifier: `docker-image://${name}` },
      updates: { identifier: `docker-image://${target}` },
    })),
  };
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

export interface Buildkit {
  pid: number;
  /** unix://… */
  addr: string;
  /** `buildctl prune --all`: a cold cache */
  prune(): Promise<void>;
  /** SIGTERM by PID (SIGKILL after 20 s), then unmount anything left under its root; idempotent */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Unmount every mount point at or below `dir` (deepest first; lazily when busy). */
export async function unmountBelow(dir: string, log: (m: string) => void): Promise<void> {
  const found = await run('findmnt', ['-l', '-n', '-o', 'TARGET']).catch(() => ({ stdout: '' }));
  const below = unmountOrder(found.stdout).filter((t) => t === dir || t.startsWith(`${dir}/`));
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

export async function startBuildkit(opts: {
  paths: PeerPaths;
  /** a fresh directory (config, socket, root, log) */
  dir: string;
  insecureRegistries: readonly string[];
  log: (m: string) => void;
}): Promise<Buildkit> {
  const { dir, paths, log } = opts;
  await mkdir(dir, { recursive: true });
  const root = join(dir, 'root');
  const config = join(dir, 'buildkitd.toml');
  const addr = `unix://${join(dir, 'buildkitd.sock')}`;
  const logFile = join(dir, 'buildkitd.log');
  await writeFile(config, buildkitdToml(opts.insecureRegistries));
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    // setpriv: SIGTERM if the bench dies; unshare without --fork execs buildkitd (same PID) in its own
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
  const buildctl = (args: string[]) => run(paths.buildctl, ['--addr', addr, ...args]);

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

  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await buildctl(['debug', 'workers']);
      break;
    } catch (e) {
      if (exited || Date.now() > deadline) {
        await stop();
        const text = await readFile(logFile, 'utf8').catch(() => '');
        throw new Error(
          `buildkitd did not start (${e instanceof Error ? e.message.split('\n')[0] : String(e)}):\n${text.trimEnd().split('\n').slice(-15).join('\n')}`,
          { cause: e },
        );
      }
      await sleep(200);
    }
  }
  log(`buildkitd ${paths.buildkitd} (pid ${pid}) on ${addr}`);
  return {
    pid,
    addr,
    async prune() {
      await buildctl(['prune', '--all']);
    },
    stop,
  };
}
