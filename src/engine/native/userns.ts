/**
 * Rootless runs of the native engine: a user without root re-runs copa inside a new user namespace (with its
 * own mount namespace) where it is root — uid/gid 0 is the user, 1…65536 their subordinate ids from
 * /etc/subuid and /etc/subgid, written by the setuid helpers newuidmap/newgidmap. Files of the image keep
 * their owners (as ids inside the namespace), so the new layer is the same as with root. overlayfs is
 * mounted with `userxattr` there (see src/layers/ovl.ts).
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync, readlinkSync } from 'node:fs';
import { userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inUserNamespace } from '../../layers/ovl.js';

/** Ids an image uses: 0…65535 (65534 is nobody) — each must be mapped. */
const IDS_NEEDED = 65536;

export interface IdRange {
  start: number;
  count: number;
}

/** The first range of `/etc/subuid`-style `text` for `name` or `id` with at least IDS_NEEDED ids. */
export function subordinateRange(text: string, name: string, id: number): IdRange | undefined {
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if (who !== name && who !== String(id)) continue;
    const r = { start: Number(start), count: Number(count) };
    if (Number.isSafeInteger(r.start) && Number.isSafeInteger(r.count) && r.count >= IDS_NEEDED) return r;
  }
  return undefined;
}

function onPath(exe: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    try {
      accessSync(join(dir, exe), constants.X_OK);
      return join(dir, exe);
    } catch {
      // not here
    }
  }
  return undefined;
}

const readOr = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

export interface RootlessPlan {
  uid: number;
  gid: number;
  subuid: IdRange;
  subgid: IdRange;
  newuidmap: string;
  newgidmap: string;
  unshare: string;
}

/** What a rootless run needs, or the parts that are missing (each a short phrase with what to do). */
export function rootlessPlan(env: NodeJS.ProcessEnv = process.env): RootlessPlan | { missing: string[] } {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const name = (() => {
    try {
      return userInfo().username;
    } catch {
      return String(uid);
    }
  })();
  const missing: string[] = [];
  const subuid = subordinateRange(readOr('/etc/subuid'), name, uid);
  const subgid = subordinateRange(readOr('/etc/subgid'), name, uid);
  if (!subuid)
    missing.push(
      `a range of ${IDS_NEEDED} subordinate uids for ${name} in /etc/subuid (usermod --add-subuids)`,
    );
  if (!subgid)
    missing.push(
      `a range of ${IDS_NEEDED} subordinate gids for ${name} in /etc/subgid (usermod --add-subgids)`,
    );
  const newuidmap = onPath('newuidmap', env);
  const newgidmap = onPath('newgidmap', env);
  if (!newuidmap || !newgidmap) missing.push('newuidmap and newgidmap (the uidmap package)');
  const unshare = onPath('unshare', env);
  if (!unshare) missing.push('unshare (util-linux)');
  if (readOr('/proc/sys/user/max_user_namespaces').trim() === '0')
    missing.push('user namespaces (sysctl user.max_user_namespaces is 0)');
  if (readOr('/proc/sys/kernel/unprivileged_userns_clone').trim() === '0')
    missing.push('unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone is 0)');
  if (missing.length > 0 || !subuid || !subgid || !newuidmap || !newgidmap || !unshare) return { missing };
  return { uid, gid, subuid, subgid, newuidmap, newgidmap, unshare };
}

/** Whether this process should re-run itself in a user namespace (not root, Linux, not already inside). */
export function wantsUserNamespace(): boolean {
  return process.platform === 'linux' && (process.getuid?.() ?? 0) !== 0 && !inUserNamespace();
}

async function run(exe: string, args: string[]): Promise<void> {
  const child = spawn(exe, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  if (code !== 0) throw new Error(`${exe} failed: ${err.trim() || `exit ${code}`}`);
}

/**
 * Run `argv` (node + script + arguments) again inside a new user and mount namespace, mapped per `plan`;
 * resolves with its exit code. The child waits on a pipe until its id maps are written.
 */
export async function runInUserNamespace(plan: RootlessPlan, argv: string[]): Promise<number> {
  const child = spawn(
    plan.unshare,
    ['--user', '--mount', '--', '/bin/sh', '-c', 'read -r _ <&3 && exec 3<&- && exec "$@"', 'sh', ...argv],
    { stdio: ['inherit', 'inherit', 'inherit', 'pipe'], env: { ...process.env, COPA_USERNS: '1' } },
  );
  const exited = new Promise<number>((resolve) =>
    child.on('close', (code, signal) => resolve(code ?? (signal === 'SIGTERM' ? 143 : 130))),
  );
  // Ctrl-C reaches the child through the terminal; a SIGTERM sent to this process is passed on
  const forward = (): void => void child.kill('SIGTERM');
  const ignore = (): void => undefined;
  process.on('SIGTERM', forward);
  process.on('SIGINT', ignore);
  try {
    const pid = child.pid;
    if (pid === undefined) throw new Error('unshare did not start');
    const own = readlinkSync('/proc/self/ns/user');
    // wait until unshare(2) has happened, then map the ids
    for (let i = 0; i < 500 && readlinkOr(`/proc/${pid}/ns/user`) === own; i++) await sleep(10);
    await run(plan.newuidmap, [
      String(pid),
      '0',
      String(plan.uid),
      '1',
      '1',
      String(plan.subuid.start),
      String(IDS_NEEDED),
    ]);
    await run(plan.newgidmap, [
      String(pid),
      '0',
      String(plan.gid),
      '1',
      '1',
      String(plan.subgid.start),
      String(IDS_NEEDED),
    ]);
    const go = child.stdio[3] as NodeJS.WritableStream;
    go.end('\n');
    return await exited;
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    throw e;
  } finally {
    process.off('SIGTERM', forward);
    process.off('SIGINT', ignore);
  }
}

function readlinkOr(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}
