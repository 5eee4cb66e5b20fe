/**
 * Package-manager caches shared between runs and processes (apt lists, downloaded packages), without
 * sharing the package manager's own lock files. Every run binds PRIVATE directories into its sandbox:
 *
 *   pkg/<key>/current -> gens/<id>        the latest package indexes (a generation; never written again)
 *   pkg/<key>/gens/<id>/<path>/...        e.g. _var_lib_apt_lists/…; meta.json {refreshedAt}
 *   pkg/<key>/pool/<path>/...             downloaded packages (*.deb, *.rpm, …), added by hard link
 *   pkg/<key>.lock                        held while indexes are refreshed or packages downloaded
 *
 * `key` = os type, version, platform and a hash of the image's package sources. Indexes are refreshed at
 * most once per COPA_INDEX_MAX_AGE (default 10m) per key: a run that finds a fresh generation hard-links
 * it and skips the refresh; otherwise it refreshes its private copy under the lock and publishes it as a
 * new generation (rename of the `current` symlink: atomic). Downloads run under the same lock, seeded from
 * the pool, so concurrent jobs download each package once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { copyTree } from '../fs/tree.js';
import { withLock } from '../fs/lock.js';
import type { Logger } from '../log.js';
import { PACKAGES_USED } from '../cache/items.js';
import { markInUse, packagesItem } from '../layers/inuse.js';
import type { PackageManager, PackageManagerContext } from '../pkgmgr/types.js';

const DEFAULT_MAX_AGE_MS = 10 * 60_000;
/** superseded index generations are removed after this long */
const GEN_GRACE_MS = 10 * 60_000;
/** package files worth keeping in the pool */
const PACKAGE_FILE = /\.(deb|udeb|rpm|apk|pkg\.tar\.(zst|xz|gz))$/;
/** never shared: lock files and half-downloaded files */
const PRIVATE_NAME = /(^|\/)(lock|[^/]*\.lock|[^/]*\.pid|partial)$/;

export function indexMaxAgeMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.COPA_INDEX_MAX_AGE;
  if (raw === undefined || raw === '') return DEFAULT_MAX_AGE_MS;
  const m = /^(\d+)(s|m|h)?$/.exec(raw.trim());
  if (!m?.[1]) return DEFAULT_MAX_AGE_MS;
  return Number(m[1]) * ({ s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'] ?? 1000);
}

const enc = (path: string): string => path.replaceAll('/', '_');

/** The cache key: `<os>-<version>-<platform>-<sources hash>` (a file-name-safe string). */
export async function packageCacheKey(
  pm: PackageManager,
  ctx: PackageManagerContext,
  os: { type: string; version: string },
  platform: string,
): Promise<string> {
  const hash = createHash('sha256');
  const root = pm.cacheRoot ?? 'image';
  for (const path of pm.sourcePaths ?? []) {
    const names = await ctx.session.list(path, root);
    const files = names ? names.map((n) => `${path}/${n}`) : [path];
    for (const f of files) {
      const data = await ctx.session.readFile(f, root);
      if (data) hash.update(`${f}\0`).update(data).update('\0');
    }
  }
  const base = `${os.type}-${os.version || 'unknown'}-${platform.replaceAll('/', '-')}`.replace(
    /[^A-Za-z0-9._-]/g,
    '_',
  );
  return `${base}-${hash.digest('hex').slice(0, 12)}`;
}

export class PackageCache {
  /** downloads run as their own step, under the cache's lock, so concurrent jobs fetch each package once */
  readonly separateDownload = true;
  readonly dir: string;
  private readonly privateDirs = new Map<string, string>();

  constructor(
    cacheDir: string,
    key: string,
    private readonly workDir: string,
    private readonly pm: PackageManager,
    private readonly log: { logger: Logger; signal: AbortSignal; maxAgeMs?: number },
  ) {
    this.dir = join(cacheDir, 'pkg', key);
  }

  private get indexPaths(): readonly string[] {
    return this.pm.indexPaths ?? this.pm.cachePaths;
  }

  private lock<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withLock(
      this.dir,
      { what, logger: this.log.logger, signal: this.log.signal, lockPath: `${this.dir}.lock` },
      fn,
    );
  }

  /** Private host directories for every cache path (bind them into the sandbox), packages seeded. */
  async open(): Promise<Map<string, string>> {
    // in use by this run (pruning leaves it alone), and when it was last used (`copa cache du`)
    markInUse(dirname(dirname(this.dir)), packagesItem(basename(this.dir)));
    await mkdir(this.dir, { recursive: true });
    await writeFile(join(this.dir, PACKAGES_USED), '');
    for (const path of this.pm.cachePaths) {
      const dir = join(this.workDir, 'pkgcache', enc(path));
      await mkdir(join(dir, 'partial'), { recursive: true });
      this.privateDirs.set(path, dir);
    }
    await this.seedPackages();
    return this.privateDirs;
  }

  private async seedPackages(): Promise<void> {
    for (const [path, dir] of this.privateDirs) {
      await copyTree(join(this.dir, 'pool', enc(path)), dir, { mode: 'link', keepExisting: true });
    }
  }

  /** Hard-link downloaded packages of the private dirs into the shared pool. */
  async harvest(): Promise<number> {
    let n = 0;
    for (const [path, dir] of this.privateDirs) {
      if (this.indexPaths.includes(path)) continue;
      n += await copyTree(dir, join(this.dir, 'pool', enc(path)), {
        mode: 'link',
        keepExisting: true,
        filter: (rel, isDir) => !PRIVATE_NAME.test(rel) && (isDir || PACKAGE_FILE.test(rel)),
      });
    }
    return n;
  }

  /**
   * Bring the private index dirs up to date: reuse a fresh generation (refresh gets `indexesFresh`), or
   * refresh a copy of the last one and publish the result. Under the key's lock.
   */
  async refresh(what: string, run: (indexesFresh: boolean) => Promise<void>): Promise<void> {
    await this.lock(`the package indexes of ${what}`, async () => {
      const current = await this.current();
      const maxAge = this.log.maxAgeMs ?? indexMaxAgeMs();
      const fresh = current !== undefined && Date.now() - current.refreshedAt < maxAge;
      for (const path of this.indexPaths) {
        const dir = this.privateDirs.get(path);
        if (!dir || !current) continue;
        // a fresh generation is only read: links suffice; a copy is what the refresh may rewrite
        await copyTree(join(current.dir, enc(path)), dir, {
          mode: fresh ? 'link' : 'copy',
          keepExisting: true,
        });
      }
      if (fresh) this.log.logger.debug(`package indexes of ${what} are fresh (shared): not refreshing`);
      await run(fresh);
      if (!fresh) await this.publish(current?.id);
    });
  }

  /** Download packages under the lock, so concurrent runs fetch each package once. */
  async download(what: string, run: () => Promise<void>): Promise<void> {
    await this.lock(`the package downloads of ${what}`, async () => {
      await this.seedPackages();
      await run();
      await this.harvest();
    });
  }

  private async current(): Promise<{ id: string; dir: string; refreshedAt: number } | undefined> {
    try {
      const id = await readlink(join(this.dir, 'current'));
      const dir = join(this.dir, id);
      const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as { refreshedAt?: unknown };
      return { id, dir, refreshedAt: typeof meta.refreshedAt === 'number' ? meta.refreshedAt : 0 };
    } catch {
      return undefined; // none yet, or a generation that was never completed
    }
  }

  private async publish(previous: string | undefined): Promise<void> {
    const id = `gens/${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const gen = join(this.dir, id);
    for (const path of this.indexPaths) {
      const dir = this.privateDirs.get(path);
      if (!dir) continue;
      await copyTree(dir, join(gen, enc(path)), {
        mode: 'link',
        filter: (rel) => !PRIVATE_NAME.test(rel),
      });
    }
    await writeFile(join(gen, 'meta.json'), JSON.stringify({ refreshedAt: Date.now() }));
    const tmp = join(this.dir, `current.tmp-${randomBytes(4).toString('hex')}`);
    await symlink(id, tmp);
    await rename(tmp, join(this.dir, 'current'));
    // older generations are only read under this lock; keep them a while all the same, in case a holder
    // whose lock went stale (a stalled process) is still copying from one
    for (const name of await readdir(join(this.dir, 'gens'))) {
      const born = parseInt(name.split('-')[0] ?? '', 36);
      const old = !Number.isFinite(born) || Date.now() - born > GEN_GRACE_MS;
      if (`gens/${name}` !== id && old)
        await rm(join(this.dir, 'gens', name), { recursive: true, force: true });
    }
    this.log.logger.debug(`published package indexes ${id}${previous ? ` (replacing ${previous})` : ''}`);
  }
}
