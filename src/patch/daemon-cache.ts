/**
 * The package cache of an engine whose daemon keeps caches itself (BuildKit): no host directories, each
 * cache path becomes a daemon cache mount named by the same key the host cache uses (distro, release, arch,
 * sources), so runs for one key share indexes and downloads; indexes are refreshed on every run.
 */
import type { PackageManager } from '../pkgmgr/types.js';

export class DaemonPackageCache {
  /** no separate download step: the install step fetches into the same cache mount (one exec less) */
  readonly separateDownload = false;

  constructor(
    private readonly key: string,
    private readonly pm: PackageManager,
  ) {}

  /**
   * image path -> the name its cache mount is keyed by (parents first). A left-out directory that holds a
   * cache path (apt's /var/cache/apt with its pkgcache.bin) is a cache mount too: what is written there never
   * enters the layer, so the daemon need not diff, export and send it.
   */
  open(): Promise<Map<string, string>> {
    const { cachePaths, excludePaths } = this.pm;
    const parents = excludePaths.filter((e) => cachePaths.some((c) => c.startsWith(`${e}/`)));
    const paths = [...new Set([...parents, ...cachePaths])].sort((a, b) => a.length - b.length);
    return Promise.resolve(new Map(paths.map((path) => [path, `${this.key}${path}`])));
  }

  refresh(_what: string, run: (indexesFresh: boolean) => Promise<void>): Promise<void> {
    return run(false);
  }

  download(_what: string, run: () => Promise<void>): Promise<void> {
    return run();
  }

  harvest(): Promise<number> {
    return Promise.resolve(0);
  }
}
