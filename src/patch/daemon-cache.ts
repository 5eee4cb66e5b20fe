/**
 * The package cache of an engine whose daemon keeps caches itself (BuildKit): no host directories, each
 * cache path becomes a daemon cache mount named by the same key the host cache uses (distro, release, arch,
 * sources), so runs for one key share indexes and downloads; indexes are refreshed on every run.
 */
import type { PackageManager } from '../pkgmgr/types.js';

export class DaemonPackageCache {
  constructor(
    private readonly key: string,
    private readonly pm: PackageManager,
  ) {}

  /** image path -> the name its cache mount is keyed by */
  open(): Promise<Map<string, string>> {
    return Promise.resolve(new Map(this.pm.cachePaths.map((path) => [path, `${this.key}${path}`])));
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
