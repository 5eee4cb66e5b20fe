/**
 * Runs as PID 1 inside fresh mount/pid/ipc/uts namespaces (started by sandbox.ts through `unshare`).
 * It mounts the overlay and the run-time mounts, then executes requests from the parent over the IPC
 * channel. Every mount lives in this private namespace: when this process dies, the kernel drops them.
 */
import { spawn } from 'node:child_process';
import { chmod, lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, posix } from 'node:path';
import { mount, MountQueue } from './mounts.js';
import type { BindMount, Request, Response, RootName, SandboxSpec } from './protocol.js';
import { resolveInRoot } from './resolve.js';
import { inUserNamespace } from '../../layers/ovl.js';

const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

function send(msg: Response): void {
  process.send?.(msg);
}

/**
 * Make sure `target` (an image path) exists as a dir/file; record what had to be created. A target under a
 * mount still queued waits for it: it must be made on the mounted filesystem.
 */
async function ensureTarget(
  root: string,
  target: string,
  kind: 'dir' | 'file',
  created: string[],
  queue?: MountQueue,
) {
  let host = await resolveInRoot(root, target);
  if (queue?.covers(host)) {
    await queue.flush();
    host = await resolveInRoot(root, target);
  }
  const rel = posix.relative(root, host);
  const parts = rel.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const p = posix.join(root, ...parts.slice(0, i));
    const st = await lstat(p).catch(() => undefined);
    if (st) continue;
    if (i === parts.length && kind === 'file') await writeFile(p, '', { mode: 0o644 });
    else await mkdir(p, { mode: 0o755 });
    created.push('/' + parts.slice(0, i).join('/'));
  }
  return host;
}

async function mountOverlay(
  lowerdirs: string[],
  upperdir: string,
  workdir: string,
  target: string,
): Promise<void> {
  // relative lowerdirs keep the option string short (the kernel limits it to one page)
  const parent = dirname(lowerdirs[0] ?? '/');
  const sameParent = lowerdirs.every((d) => dirname(d) === parent);
  const lower = sameParent ? lowerdirs.map((d) => posix.basename(d)) : lowerdirs;
  const opts = [
    `lowerdir=${lower.join(':')}`,
    `upperdir=${upperdir}`,
    `workdir=${workdir}`,
    // in a user namespace (rootless) overlayfs keeps its markers in user.* xattrs, and refuses
    // redirect_dir=off there (the kernel reads it as "follow"): nofollow creates none and follows none
    ...(inUserNamespace() ? ['redirect_dir=nofollow', 'userxattr'] : ['redirect_dir=off']),
    'metacopy=off',
    'index=off',
  ].join(',');
  await mount(['-t', 'overlay', 'overlay', '-o', opts, target], sameParent ? parent : undefined);
}

async function setUp(spec: SandboxSpec, queue: MountQueue): Promise<string[]> {
  const created: string[] = [];
  if (spec.overlay) await mountOverlay(spec.lowerdirs, spec.upperdir, spec.workdir, spec.merged);
  await setUpRoot(spec.merged, spec, created, queue);
  const t = spec.tooling;
  if (t) {
    await mountOverlay(t.lowerdirs, t.upperdir, t.workdir, t.merged);
    await setUpRoot(
      t.merged,
      { ...spec, binds: spec.binds.filter((b) => b.target === '/etc/resolv.conf') },
      [],
      queue,
    );
    // the image root, without its run-time mounts (non-recursive bind)
    await mount(['--bind', spec.merged, await ensureTarget(t.merged, t.targetPath, 'dir', [])]);
  }
  return created;
}

/** The run-time mounts of one root, queued and done by a few `mount` calls (see mounts.ts). */
async function setUpRoot(
  root: string,
  spec: Pick<SandboxSpec, 'tmpfs' | 'binds'>,
  created: string[],
  queue: MountQueue,
): Promise<void> {
  const proc = await ensureTarget(root, '/proc', 'dir', created, queue);
  queue.add({ source: 'proc', target: proc, type: 'proc', options: 'nosuid,nodev,noexec' });
  const dev = await ensureTarget(root, '/dev', 'dir', created, queue);
  queue.add({ source: 'tmpfs', target: dev, type: 'tmpfs', options: 'nosuid,mode=755,size=16m' });
  // the device nodes, links and dirs below are made on that tmpfs
  await queue.flush();
  for (const d of DEVICES) {
    await writeFile(posix.join(dev, d), '');
    queue.add({ source: `/dev/${d}`, target: posix.join(dev, d), type: 'none', options: 'bind' });
  }
  for (const [name, target] of [
    ['fd', '/proc/self/fd'],
    ['stdin', '/proc/self/fd/0'],
    ['stdout', '/proc/self/fd/1'],
    ['stderr', '/proc/self/fd/2'],
  ] as const) {
    await symlink(target, posix.join(dev, name));
  }
  await mkdir(posix.join(dev, 'pts'));
  // a private devpts instance: apt/dpkg open a pty for their logs
  const pts = posix.join(dev, 'pts');
  queue.add({ source: 'devpts', target: pts, type: 'devpts', options: 'newinstance,ptmxmode=0666,mode=620' });
  await symlink('pts/ptmx', posix.join(dev, 'ptmx'));
  await mkdir(posix.join(dev, 'shm'));
  await chmod(posix.join(dev, 'shm'), 0o1777);
  for (const t of spec.tmpfs) {
    const host = await ensureTarget(root, t, 'dir', created, queue);
    queue.add({ source: 'tmpfs', target: host, type: 'tmpfs', options: 'nosuid,nodev,mode=1777' });
  }
  for (const b of spec.binds) await bind(root, b, created, queue);
  await queue.flush();
}

/** A bind mount; read-only ones are bound and remounted read-only by the one `mount` (util-linux ≥ 2.27). */
async function bind(root: string, b: BindMount, created: string[], queue: MountQueue): Promise<void> {
  const host = await ensureTarget(root, b.target, b.kind, created, queue);
  queue.add({ source: b.source, target: host, type: 'none', options: b.readOnly ? 'bind,ro' : 'bind' });
}

/**
 * Each command runs as PID 1 of its own pid namespace with its own /proc: it sees its own processes only,
 * not this process (whose /proc/<pid>/root would lead to the host's root) nor anything of the host.
 */
function runCommand(root: string, req: Extract<Request, { op: 'run' }>): void {
  const isolate = ['--pid', '--fork', '--kill-child', `--mount-proc=${posix.join(root, 'proc')}`];
  const child = spawn('unshare', [...isolate, 'chroot', root, ...req.argv], {
    env: req.env,
    cwd: '/',
    stdio: [req.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (req.stdin !== undefined) child.stdin?.end(req.stdin);
  child.stdout?.on('data', (d: Buffer) =>
    send({ op: 'output', id: req.id, stream: 'stdout', data: d.toString() }),
  );
  child.stderr?.on('data', (d: Buffer) =>
    send({ op: 'output', id: req.id, stream: 'stderr', data: d.toString() }),
  );
  child.on('error', (e) => send({ op: 'error', id: req.id, message: e.message }));
  child.on('close', (code, signal) => send({ op: 'exit', id: req.id, code: code ?? 128, signal }));
}

async function readInRoot(root: string, path: string): Promise<string | null> {
  const host = await resolveInRoot(root, path);
  try {
    return (await readFile(host)).toString('base64');
  } catch {
    return null;
  }
}

/** The spec file: the argument, or (a child started early) the first message's. */
function specFileArg(): Promise<string> {
  const arg = process.argv[2];
  if (arg) return Promise.resolve(arg);
  return new Promise((resolve, reject) => {
    process.once('message', (req: Request) => {
      if (req.op === 'setup') resolve(req.specFile);
      else reject(new Error(`expected a setup request, got ${req.op}`));
    });
  });
}

async function main(): Promise<void> {
  process.on('disconnect', () => process.exit(1)); // the parent is gone: drop everything
  const specFile = await specFileArg();
  const spec = JSON.parse(await readFile(specFile, 'utf8')) as SandboxSpec;
  const queue = new MountQueue(dirname(specFile));
  let created: string[];
  try {
    created = await setUp(spec, queue);
  } catch (e) {
    send({ op: 'failed', message: (e as Error).message });
    process.exit(1);
  }
  const rootOf = (name: RootName | undefined): string =>
    name === 'tooling' && spec.tooling ? spec.tooling.merged : spec.merged;
  process.on('message', (req: Request) => {
    if (req.op === 'run') runCommand(rootOf(req.in), req);
    else if (req.op === 'read') {
      readInRoot(rootOf(req.in), req.path).then(
        (data) => send({ op: 'file', id: req.id, data }),
        (e: Error) => send({ op: 'error', id: req.id, message: e.message }),
      );
    } else if (req.op === 'list') {
      resolveInRoot(rootOf(req.in), req.path)
        .then((dir) => readdir(dir))
        .then(
          (names) => send({ op: 'names', id: req.id, names: names.sort() }),
          () => send({ op: 'names', id: req.id, names: null }),
        );
    } else if (req.op === 'bind') {
      const made: string[] = [];
      // a queue of its own: requests may overlap
      const one = new MountQueue(dirname(specFile));
      bind(rootOf(req.in), req.bind, made, one)
        .then(() => one.flush())
        .then(
          () => send({ op: 'bound', id: req.id, created: req.in === 'tooling' ? [] : made }),
          (e: Error) => send({ op: 'error', id: req.id, message: e.message }),
        );
    } else if (req.op === 'close') process.exit(0);
  });
  send({ op: 'ready', created });
}

main().catch((e: unknown) => {
  send({ op: 'failed', message: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});
