import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { run } from './exec.js';
import {
  cachedDir,
  ensureDebianFixture,
  FIXTURE_REF_NAME,
  FIXTURE_SUITE,
  fixtureCacheRoot,
  pruneOldEntries,
  utcDate,
  type FixtureArch,
} from './fixtures.js';
import { debianMirrors, type DebianMirrors } from './mirror.js';
import { runInChroot, withUnpackedImage, type Upgradable } from './upgradable.js';

/**
 * A Google-distroless-style Debian 12 image for the tests (like gcr.io/distroless/cc-debian12): the `.deb`s of a
 * small runtime set, taken from the `bookworm` suite only (so they lag bookworm-security), unpacked with
 * `dpkg-deb -x`; no apt, no dpkg, no shell. The package database is Google's: one `var/lib/dpkg/status.d/<pkg>`
 * file per package holding its control fields (no `Status:` line, as in Google's images) and `<pkg>.md5sums`
 * beside it; no `var/lib/dpkg/status`. One layer, OCI layout made with umoci, cached per UTC day.
 */

export interface DistrolessPackage {
  name: string;
  version: string;
}

export interface DistrolessFixture {
  /** OCI image layout directory (read-only: shared by every test of the day) */
  layoutDir: string;
  /** ref name of the image in the layout: `12` */
  refName: string;
  /** the cache entry */
  dir: string;
  /** cache key: name, arch, UTC date, hash of the recipe */
  key: string;
  arch: FixtureArch;
  mirrors: DebianMirrors;
  /** what the image holds, sorted by name */
  packages: DistrolessPackage[];
}

/** What we ask for (gcr.io/distroless/base-debian12 + the C++ runtime of cc-debian12); dependencies are added. */
export const DISTROLESS_ROOTS: readonly string[] =
  'base-files netbase tzdata ca-certificates libc6 libgcc-s1 libgomp1 libstdc++6 libssl3 openssl'.split(' ');

/**
 * Dependencies left out, as Google leaves them out: they only serve maintainer scripts, which never run in a
 * distroless image (awk for base-files, debconf for tzdata and ca-certificates), or they are the tools a
 * distroless image must not have. A dependency group naming one of these is dropped.
 */
const LEFT_OUT =
  'awk mawk gawk original-awk debconf debconf-2.0 cdebconf perl-base dash bash busybox coreutils dpkg apt';
export const DISTROLESS_LEFT_OUT: ReadonlySet<string> = new Set(LEFT_OUT.split(' '));

const RECIPE_VERSION = 1;
const IMAGE_ENV = [
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
];
const APT_TIMEOUT_MS = 10 * 60_000;
const PASSWD = [
  'root:x:0:0:root:/root:/sbin/nologin',
  'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin',
  'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin',
];
const GROUP = ['root:x:0:', 'nobody:x:65534:', 'nonroot:x:65532:'];

/** deb822 paragraphs (`apt-cache show`, `dpkg-deb --field`) -> field maps; continuation lines are joined. */
export function parseStanzas(text: string): Record<string, string>[] {
  const stanzas: Record<string, string>[] = [];
  for (const block of text.split(/\n[ \t]*\n/)) {
    const fields: Record<string, string> = {};
    let last: string | undefined;
    for (const line of block.split('\n')) {
      if (/^[ \t]/.test(line)) {
        if (last !== undefined) fields[last] = `${fields[last] ?? ''}\n${line}`;
        continue;
      }
      const m = /^([A-Za-z0-9][A-Za-z0-9-]*):[ \t]*(.*)$/.exec(line);
      if (!m?.[1]) continue;
      last = m[1];
      fields[last] = m[2] ?? '';
    }
    if (Object.keys(fields).length > 0) stanzas.push(fields);
  }
  return stanzas;
}

const PackageStanza = z.object({
  Package: z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/),
  Version: z.string().regex(/^[A-Za-z0-9.+~:-]+$/),
  Architecture: z.string().min(1),
  Depends: z.string().optional(),
  'Pre-Depends': z.string().optional(),
});
export type PackageStanza = z.infer<typeof PackageStanza>;

/** A Depends-style field -> groups of alternative package names (versions, arch qualifiers, arch lists dropped). */
export function parseRelations(field: string | undefined): string[][] {
  if (field === undefined) return [];
  return field
    .split(',')
    .map((group) =>
      group
        .split('|')
        .map((alt) => alt.trim().split(/[\s(:[]/)[0] ?? '')
        .filter(Boolean),
    )
    .filter((group) => group.length > 0);
}

/**
 * The dependency closure of `roots` (Pre-Depends and Depends; the first installable alternative of a group),
 * without the groups that name a package of `leftOut`. `lookup` gives a package's candidate stanza, or
 * undefined for a name that is no real package.
 */
export async function resolveClosure(
  roots: readonly string[],
  leftOut: ReadonlySet<string>,
  lookup: (name: string) => Promise<PackageStanza | undefined>,
): Promise<{ packages: PackageStanza[]; dropped: string[] }> {
  const chosen = new Map<string, PackageStanza>();
  const dropped = new Set<string>();
  const queue: string[][] = roots.map((r) => [r]);
  for (let group = queue.shift(); group !== undefined; group = queue.shift()) {
    const left = group.find((n) => leftOut.has(n));
    if (left !== undefined) {
      dropped.add(group.join(' | '));
      continue;
    }
    if (group.some((n) => chosen.has(n))) continue;
    let found: PackageStanza | undefined;
    for (const name of group) {
      found = await lookup(name);
      if (found) break;
    }
    if (!found) throw new Error(`no package in ${FIXTURE_SUITE} satisfies "${group.join(' | ')}"`);
    chosen.set(found.Package, found);
    queue.push(...parseRelations(found['Pre-Depends']), ...parseRelations(found.Depends));
  }
  const packages = [...chosen.values()].sort((a, b) => a.Package.localeCompare(b.Package));
  return { packages, dropped: [...dropped].sort() };
}

/**
 * A throw-away apt configuration under `dir` that sees only `<mirror> bookworm main` for `arch`: no host apt.conf.d,
 * no host sources, an empty dpkg status. Returns the environment to run apt-get/apt-cache with (APT_CONFIG is
 * read before anything else, so the host's configuration parts are never loaded).
 */
async function throwAwayApt(dir: string, mirror: string, arch: FixtureArch): Promise<NodeJS.ProcessEnv> {
  for (const d of [
    'parts',
    'sourceparts',
    'preferences',
    'trusted',
    'state/lists/partial',
    'cache/archives/partial',
  ])
    await mkdir(join(dir, d), { recursive: true });
  await writeFile(join(dir, 'status'), '');
  const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg';
  await writeFile(join(dir, 'sources.list'), `deb [signed-by=${keyring}] ${mirror} ${FIXTURE_SUITE} main\n`);
  const settings: [string, string][] = [
    ['Dir::Etc::Parts', 'parts'],
    ['Dir::Etc::Main', 'no-apt.conf'],
    ['Dir::Etc::SourceList', 'sources.list'],
    ['Dir::Etc::SourceParts', 'sourceparts'],
    ['Dir::Etc::Preferences', 'no-preferences'],
    ['Dir::Etc::PreferencesParts', 'preferences'],
    ['Dir::Etc::Trusted', 'no-trusted.gpg'],
    ['Dir::Etc::TrustedParts', 'trusted'],
    ['Dir::State', 'state'],
    ['Dir::State::status', 'status'],
    ['Dir::Cache', 'cache'],
  ];
  const lines = settings.map(([k, v]) => `${k} "${join(dir, v)}";`);
  lines.push(
    `APT::Architecture "${arch}";`,
    `APT::Architectures { "${arch}"; };`,
    'APT::Sandbox::User "root";',
    'Acquire::Languages "none";',
    'Acquire::Retries "3";',
  );
  await writeFile(join(dir, 'apt.conf'), lines.join('\n') + '\n');
  return { ...process.env, APT_CONFIG: join(dir, 'apt.conf'), LC_ALL: 'C' };
}

/** Concatenate the Mozilla certificates of the ca-certificates package, like update-ca-certificates does. */
async function writeCaBundle(rootfs: string): Promise<void> {
  const dir = join(rootfs, 'usr/share/ca-certificates/mozilla');
  const certs = (await readdir(dir)).filter((f) => f.endsWith('.crt')).sort();
  let bundle = '';
  for (const c of certs) {
    const pem = await readFile(join(dir, c), 'utf8');
    bundle += pem.endsWith('\n') ? pem : `${pem}\n`;
  }
  await mkdir(join(rootfs, 'etc/ssl/certs'), { recursive: true });
  await writeFile(join(rootfs, 'etc/ssl/certs/ca-certificates.crt'), bundle, { mode: 0o644 });
}

/** `dpkg-deb -x` a .deb into `rootfs` and write its status.d entry (control fields) and md5sums. */
async function installDeb(deb: string, rootfs: string, scratch: string): Promise<PackageStanza> {
  const fields = (await run('dpkg-deb', ['--field', deb])).stdout;
  const stanza = PackageStanza.parse(parseStanzas(fields)[0]);
  await run('dpkg-deb', ['--extract', deb, rootfs]);
  const statusD = join(rootfs, 'var/lib/dpkg/status.d');
  await writeFile(join(statusD, stanza.Package), fields.endsWith('\n') ? fields : `${fields}\n`, {
    mode: 0o644,
  });
  const control = join(scratch, stanza.Package);
  await run('dpkg-deb', ['--control', deb, control]);
  const md5sums = join(control, 'md5sums');
  if ((await readdir(control)).includes('md5sums')) {
    await copyFile(md5sums, join(statusD, `${stanza.Package}.md5sums`));
    await chmod(join(statusD, `${stanza.Package}.md5sums`), 0o644);
  }
  return stanza;
}

const DistrolessMeta = z.object({
  recipe: z.number(),
  name: z.string(),
  suite: z.string(),
  arch: z.enum(['amd64', 'arm64']),
  /** the resolved package names (fixtureMeta() of fixtures.ts reads this record too) */
  packages: z.array(z.string()),
  installed: z.array(z.object({ name: z.string(), version: z.string() })),
  leftOut: z.array(z.string()),
  mirrors: z.object({ main: z.string(), security: z.string() }),
  date: z.string(),
  builtAt: z.string(),
  buildSeconds: z.number(),
});

interface BuildSpec {
  name: string;
  arch: FixtureArch;
  mirrors: DebianMirrors;
  date: string;
}

async function buildDistroless(tmp: string, spec: BuildSpec): Promise<void> {
  const started = Date.now();
  const work = join(tmp, 'work');
  const env = await throwAwayApt(join(work, 'apt'), spec.mirrors.main, spec.arch);
  await run('apt-get', ['-q', 'update'], { env, timeoutMs: APT_TIMEOUT_MS });
  const lookup = async (name: string) => {
    const shown = await run('apt-cache', ['show', '--no-all-versions', name], { env }).catch(() => undefined);
    const first = shown ? parseStanzas(shown.stdout)[0] : undefined;
    return first ? PackageStanza.parse(first) : undefined;
  };
  const closure = await resolveClosure(DISTROLESS_ROOTS, DISTROLESS_LEFT_OUT, lookup);

  const debs = join(work, 'debs');
  await mkdir(debs);
  const pinned = closure.packages.map((p) => `${p.Package}=${p.Version}`);
  await run('apt-get', ['-q', 'download', ...pinned], { env, cwd: debs, timeoutMs: APT_TIMEOUT_MS });

  const rootfs = join(work, 'rootfs');
  await mkdir(join(rootfs, 'var/lib/dpkg/status.d'), { recursive: true });
  await mkdir(join(work, 'control'));
  const installed: DistrolessPackage[] = [];
  for (const deb of (await readdir(debs)).filter((f) => f.endsWith('.deb')).sort()) {
    const got = await installDeb(join(debs, deb), rootfs, join(work, 'control'));
    const wanted = closure.packages.find((p) => p.Package === got.Package);
    if (wanted?.Version !== got.Version)
      throw new Error(`downloaded ${deb}, expected ${wanted?.Version ?? 'nothing'}`);
    installed.push({ name: got.Package, version: got.Version });
  }
  installed.sort((a, b) => a.name.localeCompare(b.name));
  if (installed.length !== closure.packages.length)
    throw new Error(
      `apt-get download gave ${installed.length} .debs for ${closure.packages.length} packages`,
    );
  await writeCaBundle(rootfs);
  await writeFile(join(rootfs, 'etc/passwd'), PASSWD.join('\n') + '\n', { mode: 0o644 });
  await writeFile(join(rootfs, 'etc/group'), GROUP.join('\n') + '\n', { mode: 0o644 });
  await writeFile(join(rootfs, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n', {
    mode: 0o644,
  });

  // one layer; files written here get the day's date, the packages keep theirs
  const layerTar = join(work, 'layer.tar');
  const day = Date.parse(`${spec.date.slice(0, 4)}-${spec.date.slice(4, 6)}-${spec.date.slice(6)}T00:00:00Z`);
  const tarFlags = ['--sort=name', '--numeric-owner', '--clamp-mtime', `--mtime=@${day / 1000}`];
  await run('tar', ['--create', '--file', layerTar, ...tarFlags, '-C', rootfs, '.']);
  const layout = join(tmp, 'oci');
  const image = `${layout}:${FIXTURE_REF_NAME}`;
  await run('umoci', ['init', '--layout', layout]);
  await run('umoci', ['new', '--image', image]);
  const createdBy = `dpkg-deb -x ${installed.map((p) => p.name).join(' ')} (${FIXTURE_SUITE}, ${spec.arch}) + status.d`;
  await run('umoci', ['raw', 'add-layer', '--image', image, '--history.created_by', createdBy, layerTar]);
  const config = [
    '--os=linux',
    `--architecture=${spec.arch}`,
    ...IMAGE_ENV.map((e) => `--config.env=${e}`),
    '--config.cmd=openssl',
    '--config.cmd=version',
    '--history.created_by=CMD ["openssl" "version"]',
  ];
  await run('umoci', ['config', '--image', image, ...config]);
  await run('umoci', ['gc', '--layout', layout]);
  await rm(work, { recursive: true, force: true });

  const meta: z.infer<typeof DistrolessMeta> = {
    recipe: RECIPE_VERSION,
    name: spec.name,
    suite: FIXTURE_SUITE,
    arch: spec.arch,
    packages: installed.map((p) => p.name),
    installed,
    leftOut: closure.dropped,
    mirrors: spec.mirrors,
    date: spec.date,
    builtAt: new Date().toISOString(),
    buildSeconds: Math.round((Date.now() - started) / 100) / 10,
  };
  await writeFile(join(tmp, 'fixture.json'), JSON.stringify(meta, null, 2) + '\n');
}

/** The build record of a distroless fixture (packages, what was left out, build time). */
export async function distrolessMeta(
  fixture: Pick<DistrolessFixture, 'dir'>,
): Promise<z.infer<typeof DistrolessMeta>> {
  return DistrolessMeta.parse(JSON.parse(await readFile(join(fixture.dir, 'fixture.json'), 'utf8')));
}

/** A gcr.io/distroless/cc-debian12-like image from the `bookworm` suite only, built once per UTC day and cached. */
export async function ensureDistrolessFixture(
  opts: { arch?: FixtureArch; cacheDir?: string } = {},
): Promise<DistrolessFixture> {
  const name = 'distroless-bookworm';
  const arch = opts.arch ?? 'amd64';
  const mirrors = debianMirrors();
  const date = utcDate();
  const recipe = JSON.stringify({
    RECIPE_VERSION,
    suite: FIXTURE_SUITE,
    arch,
    roots: DISTROLESS_ROOTS,
    leftOut: [...DISTROLESS_LEFT_OUT],
    mirrors,
  });
  const hash = createHash('sha256').update(recipe).digest('hex').slice(0, 12);
  const key = `${name}-${arch}-${date}-${hash}`;
  const root = opts.cacheDir ?? fixtureCacheRoot();
  const dir = await cachedDir(root, key, async (tmp) => {
    await buildDistroless(tmp, { name, arch, mirrors, date });
    await pruneOldEntries(root, date);
  });
  const meta = await distrolessMeta({ dir });
  return {
    layoutDir: join(dir, 'oci'),
    refName: FIXTURE_REF_NAME,
    dir,
    key,
    arch,
    mirrors,
    packages: meta.installed,
  };
}

/** `apt-cache policy` output -> package name -> candidate version (packages without a candidate are left out). */
export function parseAptPolicy(text: string): Map<string, string> {
  const candidates = new Map<string, string>();
  for (const m of text.matchAll(/^(\S+):\n(?:[ \t]+\S.*\n)*?[ \t]+Candidate:[ \t]*(\S+)/gm)) {
    const [, name, candidate] = m;
    if (name && candidate && candidate !== '(none)')
      candidates.set(name.replace(/:[a-z0-9-]+$/, ''), candidate);
  }
  return candidates;
}

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const UpdatesCache = z.object({
  date: z.string(),
  updates: z.array(z.object({ name: z.string(), from: z.string(), to: z.string() })),
});

/**
 * The distroless fixture's packages that have newer versions in bookworm + -updates + -security today:
 * `apt-cache policy` chrooted into the (apt-capable) bookworm-minbase fixture of the same arch, versions compared
 * with `dpkg --compare-versions`. Cached in the fixture's cache entry for the UTC day.
 */
export async function distrolessUpdates(
  fixture: Pick<DistrolessFixture, 'dir' | 'arch' | 'packages'>,
): Promise<Upgradable[]> {
  const cacheFile = join(fixture.dir, 'updates.json');
  const today = utcDate();
  const cached = await readFile(cacheFile, 'utf8').then(
    (t) => UpdatesCache.safeParse(parseJsonOrUndefined(t)),
    () => undefined,
  );
  if (cached?.success && cached.data.date === today) return cached.data.updates;
  const debian = await ensureDebianFixture({ name: 'bookworm-minbase', arch: fixture.arch });
  const names = fixture.packages.map((p) => p.name);
  const policy = await withUnpackedImage(debian.layoutDir, debian.refName, async (root) => {
    await runInChroot(root, ['apt-get', '-q', 'update'], { arch: fixture.arch });
    return (await runInChroot(root, ['apt-cache', 'policy', ...names], { arch: fixture.arch })).stdout;
  });
  const candidates = parseAptPolicy(policy);
  const updates: Upgradable[] = [];
  for (const p of fixture.packages) {
    const to = candidates.get(p.name);
    if (to === undefined) throw new Error(`apt-cache policy shows no candidate for ${p.name}`);
    const newer = await run('dpkg', ['--compare-versions', to, 'gt', p.version]).then(
      () => true,
      () => false,
    );
    if (newer) updates.push({ name: p.name, from: p.version, to });
  }
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ date: today, updates }, null, 2) + '\n');
  await rename(tmp, cacheFile);
  return updates;
}
