import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { run } from './exec.js';
import { debianMirrors, type DebianMirrors } from './mirror.js';

/**
 * Real Debian fixture images for the tests: mmdebstrap (bookworm suite only, so its packages lag
 * bookworm-security) -> two-layer OCI layout made with umoci -> pushed with skopeo. Built once a day and
 * cached on disk; see test/fixtures/README.md.
 */

export type FixtureArch = 'amd64' | 'arm64';

export interface DebianFixtureOptions {
  name: 'bookworm-minbase';
  arch?: FixtureArch;
  /** extra packages on top of gpgv, openssl, libexpat1, ca-certificates */
  include?: string[];
  /** default: fixtureCacheRoot() */
  cacheDir?: string;
}

export interface DebianFixture {
  /** OCI image layout directory (read-only: shared by every test of the day) */
  layoutDir: string;
  /** ref name of the image in the layout: `12` */
  refName: string;
  /** layer 1, uncompressed: the mmdebstrap root filesystem */
  rootfsTar: string;
  /** layer 2, uncompressed: /etc/apt/sources.list.d/debian.sources */
  sourcesTar: string;
  /** the cache entry holding all of the above */
  dir: string;
  /** cache key: name, arch, UTC date, hash of suite + arch + packages + mirrors + recipe */
  key: string;
  arch: FixtureArch;
  mirrors: DebianMirrors;
}

export const FIXTURE_SUITE = 'bookworm';
export const FIXTURE_REF_NAME = '12';
export const BASE_PACKAGES = ['gpgv', 'openssl', 'libexpat1', 'ca-certificates'] as const;
/** bump when the recipe below changes, so that no entry built by an older recipe is reused */
const RECIPE_VERSION = 1;
const IMAGE_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const KEEP_DAYS = 2;
const BUILD_TIMEOUT_MS = 30 * 60_000;

/** Runs in the finished chroot: make it look like a docker image (no host files, no one-line sources). */
const CUSTOMIZE_HOOK = [
  'rm -f "$1/etc/apt/sources.list"',
  ': > "$1/etc/resolv.conf"',
  ': > "$1/etc/hostname"',
  'chmod 0644 "$1/etc/resolv.conf" "$1/etc/hostname"',
].join('; ');

const FixtureMeta = z.object({
  recipe: z.number(),
  name: z.string(),
  suite: z.string(),
  arch: z.enum(['amd64', 'arm64']),
  packages: z.array(z.string()),
  mirrors: z.object({ main: z.string(), security: z.string() }),
  date: z.string(),
  builtAt: z.string(),
  buildSeconds: z.number(),
});
export type FixtureMeta = z.infer<typeof FixtureMeta>;

/** `$COPA_TEST_CACHE`, else `<repo>/.cache/fixtures` (git-ignored). */
export function fixtureCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.COPA_TEST_CACHE?.trim();
  return fromEnv || fileURLToPath(new URL('../../.cache/fixtures', import.meta.url));
}

/** 00:00 UTC of a YYYYMMDD date, in milliseconds. */
function dayStart(date: string): number {
  return Date.parse(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6)}T00:00:00Z`);
}

/** YYYYMMDD in UTC. */
export function utcDate(now = new Date()): string {
  return now.toISOString().slice(0, 10).replaceAll('-', '');
}

/** The arch of this machine in Debian's words. */
export function hostDebianArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

/** deb822 sources exactly like a real debian:12 image, pointing at the given mirrors. */
export function debianSourcesFile(mirrors: DebianMirrors, suite = FIXTURE_SUITE): string {
  const stanza = (uri: string, suites: string) =>
    [
      'Types: deb',
      `URIs: ${uri}`,
      `Suites: ${suites}`,
      'Components: main',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
    ].join('\n');
  return `${stanza(mirrors.main, `${suite} ${suite}-updates`)}\n\n${stanza(mirrors.security, `${suite}-security`)}\n`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a process with this pid exists (ours or another user's). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Take the lock file, or return false if a live process holds it (a dead holder's lock is removed). */
async function tryLock(lock: string): Promise<boolean> {
  try {
    await writeFile(lock, JSON.stringify({ pid: process.pid }), { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const text = await readFile(lock, 'utf8').catch(() => '');
  let holder: unknown;
  try {
    holder = JSON.parse(text);
  } catch {
    return false; // being written right now
  }
  const pid = z.object({ pid: z.number().int() }).safeParse(holder);
  if (pid.success && !isAlive(pid.data.pid)) await rm(lock, { force: true });
  return false;
}

/**
 * The directory `<root>/<key>`, built by `build(tmpDir)` if it does not exist yet. At most one builder per
 * key at a time (a lock file naming its pid; a dead holder's lock is taken over), the build happens in a
 * temp dir beside it and appears by rename, so no reader ever sees half a fixture. A failed build leaves
 * nothing behind.
 */
export async function cachedDir(
  root: string,
  key: string,
  build: (tmpDir: string) => Promise<void>,
  opts: { pollMs?: number } = {},
): Promise<string> {
  if (!/^[\w.-]+$/.test(key)) throw new Error(`bad cache key ${JSON.stringify(key)}`);
  const final = join(root, key);
  const lock = join(root, `${key}.lock`);
  await mkdir(root, { recursive: true });
  while (!(await exists(final))) {
    if (!(await tryLock(lock))) {
      await sleep(opts.pollMs ?? 500);
      continue;
    }
    try {
      if (await exists(final)) break; // finished between our check and our lock
      for (const entry of await readdir(root)) {
        if (entry.startsWith(`.tmp-${key}-`)) await rm(join(root, entry), { recursive: true, force: true });
      }
      const tmp = join(root, `.tmp-${key}-${process.pid}-${randomBytes(4).toString('hex')}`);
      await mkdir(tmp);
      try {
        await build(tmp);
        await rename(tmp, final);
      } catch (e) {
        await rm(tmp, { recursive: true, force: true });
        throw e;
      }
    } finally {
      await rm(lock, { force: true });
    }
  }
  return final;
}

/** Remove cache entries (`<name>-<YYYYMMDD>-<hash>`) older than KEEP_DAYS days. */
export async function pruneOldEntries(root: string, today: string): Promise<void> {
  const oldest = utcDate(new Date(dayStart(today) - KEEP_DAYS * 86_400_000));
  for (const entry of await readdir(root)) {
    const m = /^[\w.-]+-(\d{8})-[0-9a-f]{12}$/.exec(entry);
    if (m?.[1] && m[1] < oldest) await rm(join(root, entry), { recursive: true, force: true });
  }
}

/** Inside the namespace: mount binfmt_misc if absent, register the qemu handler if absent, then exec "$@". */
const BINFMT_SCRIPT = [
  'H=$1; shift; B=/proc/sys/fs/binfmt_misc',
  'grep -q " $B " /proc/mounts || mount -t binfmt_misc binfmt_misc "$B" || exit 1',
  '[ -e "$B/$H" ] || update-binfmts --enable "$H" >&2 || true',
  '[ -e "$B/$H" ] || { echo "no binfmt handler $H: install qemu-user-static and binfmt-support" >&2; exit 1; }',
  'exec "$@"',
].join('\n');

/**
 * An argv prefix that makes binaries of `arch` runnable (qemu-user through binfmt_misc) for the command after
 * it; empty for the host's arch. Use it only inside a private mount namespace (`unshare --mount`): where the
 * host has no binfmt_misc mounted, the mount and the handler live exactly as long as that namespace.
 */
export function foreignArchPrefix(arch: FixtureArch): string[] {
  if (arch === hostDebianArch()) return [];
  const handler = arch === 'arm64' ? 'qemu-aarch64' : `qemu-${arch}`;
  return ['sh', '-c', BINFMT_SCRIPT, 'sh', handler];
}

/**
 * argv prefix: run the rest in a private mount + pid namespace that dies with the calling process (pdeathsig
 * on unshare, --kill-child on the namespace's init), so that even a kill -9 of the test leaves no mounts.
 */
export const PRIVATE_NAMESPACE: readonly string[] = [
  'setpriv',
  '--pdeathsig=KILL',
  'unshare',
  '--mount',
  '--propagation=private',
  '--pid',
  '--kill-child',
];

interface BuildSpec {
  name: string;
  arch: FixtureArch;
  packages: string[];
  mirrors: DebianMirrors;
  date: string;
}

async function buildFixture(tmp: string, spec: BuildSpec): Promise<void> {
  const started = Date.now();
  const rootfsTar = join(tmp, 'rootfs.tar');
  const mmdebstrap = [
    'mmdebstrap',
    '--variant=minbase',
    `--arch=${spec.arch}`,
    `--include=${spec.packages.join(',')}`,
    '--skip=output/dev',
    `--customize-hook=${CUSTOMIZE_HOOK}`,
    FIXTURE_SUITE,
    rootfsTar,
    spec.mirrors.main,
  ];
  // if we die, so does mmdebstrap, and the kernel drops its mounts; its temp dir is inside tmp
  const [cmd = '', ...args] = [...PRIVATE_NAMESPACE, ...foreignArchPrefix(spec.arch), ...mmdebstrap];
  const built = await run(cmd, args, {
    env: { ...process.env, TMPDIR: tmp, LC_ALL: 'C' },
    timeoutMs: BUILD_TIMEOUT_MS,
  });
  await writeFile(join(tmp, 'mmdebstrap.log'), built.stderr);

  // layer 2: the deb822 sources of a real debian:12 image
  const stage = join(tmp, 'layer2');
  const sourcesDir = join(stage, 'etc/apt/sources.list.d');
  await mkdir(sourcesDir, { recursive: true });
  for (const d of ['etc', 'etc/apt', 'etc/apt/sources.list.d']) await chmod(join(stage, d), 0o755);
  await writeFile(join(sourcesDir, 'debian.sources'), debianSourcesFile(spec.mirrors), { mode: 0o644 });
  const sourcesTar = join(tmp, 'sources.tar');
  const owner = ['--owner=0', '--group=0', '--numeric-owner', `--mtime=@${dayStart(spec.date) / 1000}`];
  await run('tar', ['--create', '--file', sourcesTar, '--sort=name', ...owner, '-C', stage, 'etc']);
  await rm(stage, { recursive: true });

  const layout = join(tmp, 'oci');
  const image = `${layout}:${FIXTURE_REF_NAME}`;
  await run('umoci', ['init', '--layout', layout]);
  await run('umoci', ['new', '--image', image]);
  const layer1By = `mmdebstrap --variant=minbase --include=${spec.packages.join(',')} ${FIXTURE_SUITE} (${spec.arch})`;
  await run('umoci', ['raw', 'add-layer', '--image', image, '--history.created_by', layer1By, rootfsTar]);
  const layer2By = '/bin/sh -c #(nop) COPY file:debian.sources in /etc/apt/sources.list.d/';
  await run('umoci', ['raw', 'add-layer', '--image', image, '--history.created_by', layer2By, sourcesTar]);
  const config = [
    '--os=linux',
    `--architecture=${spec.arch}`,
    `--config.env=${IMAGE_PATH}`,
    '--config.cmd=bash',
  ];
  const cmdBy = '--history.created_by=/bin/sh -c #(nop)  CMD ["bash"]';
  await run('umoci', ['config', '--image', image, ...config, cmdBy]);
  await run('umoci', ['gc', '--layout', layout]);

  const meta: FixtureMeta = {
    recipe: RECIPE_VERSION,
    name: spec.name,
    suite: FIXTURE_SUITE,
    arch: spec.arch,
    packages: spec.packages,
    mirrors: spec.mirrors,
    date: spec.date,
    builtAt: new Date().toISOString(),
    buildSeconds: Math.round((Date.now() - started) / 100) / 10,
  };
  await writeFile(join(tmp, 'fixture.json'), JSON.stringify(meta, null, 2) + '\n');
}

/** Read the build record of a fixture (when and how long it took to build). */
export async function fixtureMeta(fixture: Pick<DebianFixture, 'dir'>): Promise<FixtureMeta> {
  return FixtureMeta.parse(JSON.parse(await readFile(join(fixture.dir, 'fixture.json'), 'utf8')));
}

/**
 * A debian:12-like image (minbase + gpgv, openssl, libexpat1, ca-certificates from the `bookworm` suite only,
 * sources listing bookworm, -updates and -security), built once per day and cached.
 */
export async function ensureDebianFixture(opts: DebianFixtureOptions): Promise<DebianFixture> {
  const arch = opts.arch ?? 'amd64';
  const packages = [...new Set([...BASE_PACKAGES, ...(opts.include ?? [])])].sort();
  const bad = packages.find((p) => !/^[a-z0-9][a-z0-9+.-]+$/.test(p));
  if (bad !== undefined) throw new Error(`not a Debian package name: ${JSON.stringify(bad)}`);
  const mirrors = debianMirrors();
  const date = utcDate();
  const recipe = JSON.stringify({ RECIPE_VERSION, suite: FIXTURE_SUITE, arch, packages, mirrors });
  const hash = createHash('sha256').update(recipe).digest('hex').slice(0, 12);
  const key = `${opts.name}-${arch}-${date}-${hash}`;
  const root = opts.cacheDir ?? fixtureCacheRoot();
  const dir = await cachedDir(root, key, async (tmp) => {
    await buildFixture(tmp, { name: opts.name, arch, packages, mirrors, date });
    await pruneOldEntries(root, date);
  });
  return {
    layoutDir: join(dir, 'oci'),
    refName: FIXTURE_REF_NAME,
    rootfsTar: join(dir, 'rootfs.tar'),
    sourcesTar: join(dir, 'sources.tar'),
    dir,
    key,
    arch,
    mirrors,
  };
}

export interface PushedImage {
  /** host/repo:tag */
  reference: string;
  /** digest of the pushed manifest */
  digest: string;
}

/** Copy an image of an OCI layout to a plain-HTTP registry with skopeo, as OCI or Docker schema 2. */
export async function pushFixture(
  layoutDir: string,
  refName: string,
  registryHost: string,
  repoTag: string,
  opts: { format?: 'oci' | 'v2s2' } = {},
): Promise<PushedImage> {
  const tmp = await mkdtemp(join(tmpdir(), 'copa-test-push-'));
  try {
    const digestFile = join(tmp, 'digest');
    const reference = `${registryHost}/${repoTag}`;
    await run('skopeo', [
      'copy',
      '--insecure-policy',
      '--dest-tls-verify=false',
      '--format',
      opts.format ?? 'oci',
      '--digestfile',
      digestFile,
      `oci:${layoutDir}:${refName}`,
      `docker://${reference}`,
    ]);
    return { reference, digest: (await readFile(digestFile, 'utf8')).trim() };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Unpack an image of an OCI layout into `dest` with umoci (an independent tool; whiteouts applied). */
export async function unpackLayout(layoutDir: string, refName: string, dest: string): Promise<void> {
  await run('umoci', ['raw', 'unpack', '--image', `${layoutDir}:${refName}`, dest]);
}
