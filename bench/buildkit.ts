import { executable, launchBuildkitd, type Buildkitd } from '../test/helpers/buildkitd.js';
import { onPath } from './tools.js';

export { buildkitdToml, unmountBelow, unmountOrder } from '../test/helpers/buildkitd.js';

/**
 * A BuildKit daemon for the original Copa (the peer): started by the bench from binaries the user gives
 * (COPA_BENCH_BUILDKITD / COPA_BENCH_BUILDCTL or --buildkitd / --buildctl; nothing is built here), on a
 * private socket, with the bench's registry marked plain-HTTP, stopped by its PID at the end. It runs in a
 * private mount namespace that dies with it (so its overlay mounts vanish with it even after a kill -9),
 * and whatever is still mounted under its root on the host afterwards is unmounted anyway (the daemon itself
 * is test/helpers/buildkitd.ts, shared with the tests).
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

type Want = [keyof PeerPaths, string | undefined, string, string];

function pickPaths(want: readonly Want[], env: NodeJS.ProcessEnv): Partial<PeerPaths> | string {
  const paths: Partial<PeerPaths> = {};
  for (const [key, path, envName, flag] of want) {
    if (path === undefined) return `n/a (no ${key}: set ${envName} or ${flag})`;
    if (!executable(path)) return `n/a (${key} ${path} is not an executable file)`;
    paths[key] = path;
  }
  if (!onPath('runc', env.PATH)) return 'n/a (runc not on PATH: apt-get install runc)';
  return paths;
}

const pick = (flag: string | undefined, env: NodeJS.ProcessEnv, name: string): string | undefined =>
  flag ?? (env[name]?.trim() || undefined);

const daemonWant = (flags: PeerFlags, env: NodeJS.ProcessEnv): Want[] => [
  ['buildkitd', pick(flags.buildkitd, env, 'COPA_BENCH_BUILDKITD'), 'COPA_BENCH_BUILDKITD', '--buildkitd'],
  ['buildctl', pick(flags.buildctl, env, 'COPA_BENCH_BUILDCTL'), 'COPA_BENCH_BUILDCTL', '--buildctl'],
];

/**
 * The peer's binaries from the flags, else the environment; a reason (for the `n/a (…)` rows) when one is
 * missing. `runc` must be on PATH (buildkitd's OCI worker).
 */
export function peerPaths(flags: PeerFlags, env: NodeJS.ProcessEnv = process.env): PeerPaths | string {
  const copa: Want = ['copa', pick(flags.peerCopa, env, 'COPA_BENCH_COPA'), 'COPA_BENCH_COPA', '--peer-copa'];
  const paths = pickPaths([copa, ...daemonWant(flags, env)], env);
  return typeof paths === 'string' ? paths : (paths as PeerPaths);
}

/**
 * Only the daemon's binaries (buildkitd, buildctl, runc on PATH): what our BuildKit-engine rows need (they
 * run our CLI with --addr on the same buildkitd as the original Copa); a reason when one is missing.
 */
export function daemonPaths(
  flags: PeerFlags,
  env: NodeJS.ProcessEnv = process.env,
): Omit<PeerPaths, 'copa'> | string {
  const paths = pickPaths(daemonWant(flags, env), env);
  return typeof paths === 'string' ? paths : (paths as Omit<PeerPaths, 'copa'>);
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

/** The bench's view of the daemon (test/helpers/buildkitd.ts has more). */
export type Buildkit = Pick<Buildkitd, 'pid' | 'addr' | 'prune' | 'stop'>;

export async function startBuildkit(opts: {
  paths: PeerPaths;
  /** a fresh directory (config, socket, root, log) */
  dir: string;
  insecureRegistries: readonly string[];
  log: (m: string) => void;
}): Promise<Buildkit> {
  const { paths, log } = opts;
  const bk = await launchBuildkitd({
    paths: { buildkitd: paths.buildkitd, buildctl: paths.buildctl },
    dir: opts.dir,
    insecureRegistries: opts.insecureRegistries,
    log,
  });
  log(`buildkitd ${paths.buildkitd} (pid ${bk.pid}) on ${bk.addr}`);
  return bk;
}
