import { describe, expect, it } from 'vitest';
import { aptManager } from '../pkgmgr/dpkg/apt.js';
import { DaemonPackageCache } from './daemon-cache.js';

describe('the package cache of a daemon engine', () => {
  it('apt: lists and archives are cache mounts, and so is /var/cache/apt (left out, holds archives), parents first', async () => {
    const binds = await new DaemonPackageCache('debian-12-linux_amd64-abc', aptManager).open();
    expect([...binds.keys()]).toEqual(['/var/cache/apt', '/var/lib/apt/lists', '/var/cache/apt/archives']);
    expect(binds.get('/var/lib/apt/lists')).toBe('debian-12-linux_amd64-abc/var/lib/apt/lists');
  });

  it('indexes are refreshed every run (the daemon keeps them, we cannot tell their age)', async () => {
    const seen: boolean[] = [];
    await new DaemonPackageCache('k', aptManager).refresh('x', (fresh) => {
      seen.push(fresh);
      return Promise.resolve();
    });
    expect(seen).toEqual([false]);
  });
});
