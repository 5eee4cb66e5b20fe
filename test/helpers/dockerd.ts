import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type RunOptions, type RunResult } from './exec.js';
import { mountsUnder } from './upgradable.js';

/**
 * A real Docker engine (Debian `docker.io`, 20.10) for tests, fully private: its own data root, exec root,
 * socket and config under one temp dir; a private mount namespace with a tmpfs on /run (so its mounts, shim
 * sockets and plugin dirs die with it, even on kill -9); its own cgroup parent, removed on stop.
 */
export interface TestDocker {
  /** unix socket path */
  socket: string;
  /** environment for the docker CLI and for copa: DOCKER_HOST, DOCKER_CONFIG (private), DOCKER_BUILDKIT=0 */
  env: NodeJS.ProcessEnv;
  dir: string;
  storageDriver: 'overlay2' | 'vfs';
  /** run the docker CLI against this engine */
  docker(args: readonly string[], opts?: Omit<RunOptions, 'env'>): Promise<RunResult>;
  stop(): Promise<void>;
}

/** The Debian docker.io CLI when present (it matches the engine), else `docker` from PATH. */
export function dockerCli(): string {
  return existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
}

function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

const NAMESPACED = [
  'setpriv',
  '--pdeathsig=KILL',
  'unshare',
  '--mount',
  '--propagation=private',
  'sh',
  '-c',
  'mount -t tmpfs -o mode=0755 copa-test-run /run && exec "$@"',
  'sh',
];

async function removeCgroups(name: string): Promise<void> {
  const root = '/sys/fs/cgroup';
  const controllers = await readdir(root).catch(() => [] as string[]);
  const remove = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await remove(join(dir, e.name));
    await rmdir(dir).catch(() => undefined);
  };
  for (const c of controllers) {
    const dir = join(root, c, name);
    if (
      await stat(dir).then(
        () => true,
        () => false,
      )
    )
      await remove(dir);
  }
}

async function launch(
  dir: string,
  driver: 'overlay2' | 'vfs',
  cgroupParent: string,
): Promise<{ child: ChildProcess; log: () => string }> {
  const socket = join(dir, 'docker.sock');
  const args = [
    ...NAMESPACED,
    'dockerd',
    '--config-file',
    join(dir, 'daemon.json'),
    '--iptables=false',
    '--ip6tables=false',
    '--bridge=none',
    `--storage-driver=${driver}`,
    '--data-root',
    join(dir, `root-${driver}`),
    '--exec-root',
    join(dir, 'exec'),
    '--pidfile',
    join(dir, 'docker.pid'),
    '--cgroup-parent',
    cgroupParent,
    '-H',
    `unix://${socket}`,
  ];
  const [cmd = '', ...rest] = args;
  const child = spawn(cmd, rest, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-20_000);
  });
  const deadline = Date.now() + 60_000;
  while (!(await ping(socket))) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`dockerd (${driver}) exited:\n${log.slice(-3000)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`dockerd (${driver}) did not answer on ${socket} within 60s:\n${log.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, log: () => log };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

export async function startDockerd(): Promise<TestDocker> {
  const dir = await mkdtemp(join(tmpdir(), 'copa-test-dockerd-'));
  const cgroupParent = `copa-test-dockerd-${process.pid}-${dir.slice(-6)}`;
  // the engine's identity key goes here instead of /etc/docker/key.json
  await writeFile(join(dir, 'daemon.json'), JSON.stringify({ 'deprecated-key-path': join(dir, 'key.json') }));
  await mkdir(join(dir, 'cli'));
  let started: { child: ChildProcess; log: () => string };
  let driver: 'overlay2' | 'vfs' = 'overlay2';
  try {
    try {
      started = await launch(dir, 'overlay2', cgroupParent);
    } catch (e) {
      if (!/overlay|driver not supported|graphdriver/i.test(String(e))) throw e;
      driver = 'vfs';
      started = await launch(dir, 'vfs', cgroupParent);
    }
  } catch (e) {
    await removeCgroups(cgroupParent);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const socket = join(dir, 'docker.sock');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DOCKER_HOST: `unix://${socket}`,
    DOCKER_CONFIG: join(dir, 'cli'),
    DOCKER_BUILDKIT: '0',
  };
  delete env.DOCKER_CONTEXT;
  const { child } = started;
  return {
    socket,
    env,
    dir,
    storageDriver: driver,
    docker: (args, opts = {}) => run(dockerCli(), args, { ...opts, env }),
    async stop() {
      await stopChild(child);
      await removeCgroups(cgroupParent);
      if ((await mountsUnder(dir)).length > 0)
        throw new Error(`mounts left under ${dir} after dockerd stopped`);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A private podman store (Debian `podman`): storage and podman's run-time state under one temp dir, through
 * CONTAINERS_STORAGE_CONF / CONTAINERS_CONF in `env`. Podman still creates /run/containers/networks; stop()
 * removes it when it did not exist before and is empty.
 */
export interface TestPodman {
  env: NodeJS.ProcessEnv;
  dir: string;
  podman(args: readonly string[], opts?: Omit<RunOptions, 'env'>): Promise<RunResult>;
  stop(): Promise<void>;
}

const PODMAN_RUN_DIRS = ['/run/containers/networks', '/run/containers'];

export async function startPodmanStore(): Promise<TestPodman> {
  const dir = await mkdtemp(join(tmpdir(), 'copa-test-podman-'));
  const existed = new Set(PODMAN_RUN_DIRS.filter((d) => existsSync(d)));
  const storage = join(dir, 'storage.conf');
  const containers = join(dir, 'containers.conf');
  await writeFile(
    storage,
    `[storage]\ndriver = "overlay"\ngraphroot = "${dir}/root"\nrunroot = "${dir}/run"\n`,
  );
  await writeFile(
    containers,
    `[engine]\ntmp_dir = "${dir}/tmp"\n[network]\nnetwork_config_dir = "${dir}/net"\n`,
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CONTAINERS_STORAGE_CONF: storage,
    CONTAINERS_CONF: containers,
  };
  return {
    env,
    dir,
    podman: (args, opts = {}) => run('podman', args, { ...opts, env }),
    async stop() {
      const mounts = (await mountsUnder(dir)).sort((a, b) => b.length - a.length);
      for (const m of mounts) await run('umount', [m]);
      await rm(dir, { recursive: true, force: true });
      for (const d of PODMAN_RUN_DIRS) {
        if (!existed.has(d)) await rmdir(d).catch(() => undefined);
      }
    },
  };
}
