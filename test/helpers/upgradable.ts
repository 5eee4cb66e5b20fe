import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { run, type RunResult } from './exec.js';
import {
  foreignArchPrefix,
  isAlive,
  PRIVATE_NAMESPACE,
  unpackLayout,
  utcDate,
  type DebianFixture,
  type FixtureArch,
} from './fixtures.js';

/**
 * Which packages of a fixture have newer versions in the full sources (bookworm + -updates + -security),
 * computed at run time by the image's own apt in a chroot — never hard-coded, the mirror moves.
 */

export interface Upgradable {
  name: string;
  /** installed version */
  from: string;
  /** candidate version */
  to: string;
}

/** `apt-get -s upgrade` output -> the packages it would upgrade, sorted by name. */
export function parseAptSimulation(output: string): Upgradable[] {
  const found: Upgradable[] = [];
  for (const m of output.matchAll(/^Inst (\S+) \[([^\]\s]+)\] \((\S+) /gm)) {
    const [, name, from, to] = m;
    if (name && from && to) found.push({ name: name.replace(/:[a-z0-9-]+$/, ''), from, to });
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** dpkg status text -> name -> version of the packages whose status is "installed". */
export function parseDpkgStatus(text: string): Map<string, string> {
  const versions = new Map<string, string>();
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'mi').exec(stanza)?.[1]?.trim();
    const pkg = field('Package');
    const version = field('Version');
    const status = field('Status')?.split(/\s+/);
    // no Status field: a distroless status.d entry, where only installed packages are listed
    const installed = status === undefined || status[2] === 'installed';
    if (pkg && version && installed) versions.set(pkg, version);
  }
  return versions;
}

/** Installed package versions of a root filesystem: var/lib/dpkg/status, plus distroless status.d/ files. */
export async function installedVersions(rootfsDir: string): Promise<Map<string, string>> {
  const dpkg = join(rootfsDir, 'var/lib/dpkg');
  const texts: string[] = [];
  const status = await readFile(join(dpkg, 'status'), 'utf8').catch(() => undefined);
  if (status !== undefined) texts.push(status);
  const extra = await readdir(join(dpkg, 'status.d')).catch(() => [] as string[]);
  for (const f of extra.filter((f) => !f.endsWith('.md5sums')).sort()) {
    texts.push(await readFile(join(dpkg, 'status.d', f), 'utf8'));
  }
  if (texts.length === 0) throw new Error(`no dpkg status database under ${rootfsDir}`);
  return new Map(texts.flatMap((t) => [...parseDpkgStatus(t)]));
}

/**
 * In a private mount + pid namespace: a tmpfs /dev with the usual nodes bound from the host, /proc, the host's
 * resolv.conf over the image's; then chroot. The kernel drops every mount when the namespace dies.
 */
const CHROOT_SCRIPT = `set -eu
r=$1; shift
mkdir -p "$r/dev" "$r/proc" "$r/etc"
mount -t tmpfs -o mode=0755,nosuid dev "$r/dev"
for d in null zero full random urandom tty; do : > "$r/dev/$d"; mount --bind "/dev/$d" "$r/dev/$d"; done
mkdir -p "$r/dev/pts" "$r/dev/shm"
ln -s /proc/self/fd "$r/dev/fd"
mount -t proc proc "$r/proc"
[ -e "$r/etc/resolv.conf" ] || : > "$r/etc/resolv.conf"
mount --bind /etc/resolv.conf "$r/etc/resolv.conf"
exec chroot "$r" "$@"`;

const CHROOT_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LC_ALL: 'C',
  DEBIAN_FRONTEND: 'noninteractive',
  HOME: '/root',
};

/** Run argv chrooted into `rootfsDir` (root needed); `arch` other than the host's runs through qemu-user. */
export async function runInChroot(
  rootfsDir: string,
  argv: readonly string[],
  opts: { timeoutMs?: number; arch?: FixtureArch } = {},
): Promise<RunResult> {
  const qemu = opts.arch ? foreignArchPrefix(opts.arch) : [];
  const chroot = ['sh', '-c', CHROOT_SCRIPT, 'sh', resolve(rootfsDir), ...argv];
  const [cmd = '', ...args] = [...PRIVATE_NAMESPACE, ...qemu, ...chroot];
  return run(cmd, args, {
    env: CHROOT_ENV,
    timeoutMs: opts.timeoutMs ?? 10 * 60_000,
  });
}

/** Mount points at or below `dir` in our mount namespace (mountinfo field 5, octal escapes decoded). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const base = resolve(dir);
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === base || p.startsWith(`${base}/`));
}

/** Remove a temp dir, first detaching anything still mounted below it (never delete through a mount). */
export async function removeTree(dir: string): Promise<void> {
  const mounts = (await mountsUnder(dir)).sort((a, b) => b.length - a.length);
  for (const m of mounts) await run('umount', ['--lazy', m]);
  if ((await mountsUnder(dir)).length > 0) throw new Error(`refusing to delete ${dir}: still mounted below`);
  await rm(dir, { recursive: true, force: true });
}

const ROOTFS_PREFIX = 'copa-test-rootfs-';

/** Temp roots left by a test process that was killed: `<tmp>/copa-test-rootfs-<pid>-*` of dead pids. */
async function removeStaleRoots(): Promise<void> {
  for (const entry of await readdir(tmpdir())) {
    const pid = /^copa-test-rootfs-(\d+)-/.exec(entry)?.[1];
    if (pid !== undefined && !isAlive(Number(pid))) await removeTree(join(tmpdir(), entry));
  }
}

/** Unpack an image of an OCI layout into a temp dir, hand its root to `fn`, and always remove it. */
export async function withUnpackedImage<T>(
  layoutDir: string,
  refName: string,
  fn: (rootfsDir: string) => Promise<T>,
): Promise<T> {
  await removeStaleRoots();
  const tmp = await mkdtemp(join(tmpdir(), `${ROOTFS_PREFIX}${process.pid}-`));
  try {
    const rootfs = join(tmp, 'rootfs');
    await unpackLayout(layoutDir, refName, rootfs);
    return await fn(rootfs);
  } finally {
    await removeTree(tmp);
  }
}

/** `apt-get update` + `apt-get -s upgrade` chrooted into an unpacked image: what apt would upgrade. */
export async function simulateUpgrade(rootfsDir: string, arch?: FixtureArch): Promise<Upgradable[]> {
  await runInChroot(rootfsDir, ['apt-get', '-q', 'update'], { arch });
  const sim = await runInChroot(rootfsDir, ['apt-get', '-s', 'upgrade'], { arch });
  return parseAptSimulation(sim.stdout);
}

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const UpgradableCache = z.object({
  date: z.string(),
  packages: z.array(z.object({ name: z.string(), from: z.string(), to: z.string() })),
});

/**
 * The fixture's packages with newer versions in bookworm + -updates + -security (both layers unpacked, apt in
 * a chroot). Cached in the fixture's cache entry for the UTC day.
 */
export async function upgradablePackages(
  fixture: Pick<DebianFixture, 'dir' | 'layoutDir' | 'refName' | 'arch'>,
): Promise<Upgradable[]> {
  const cacheFile = join(fixture.dir, 'upgradable.json');
  const today = utcDate();
  const cached = await readFile(cacheFile, 'utf8').then(
    (t) => UpgradableCache.safeParse(parseJsonOrUndefined(t)),
    () => undefined,
  );
  if (cached?.success && cached.data.date === today) return cached.data.packages;
  const packages = await withUnpackedImage(fixture.layoutDir, fixture.refName, (root) =>
    simulateUpgrade(root, fixture.arch),
  );
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ date: today, packages }, null, 2) + '\n');
  await rename(tmp, cacheFile);
  return packages;
}
