/**
 * Layer 1 of the copa image: a minimal Debian root filesystem made by mmdebstrap from the configured mirror
 * (variant `essential`: no apt, which copa never runs from its own root — apt runs inside the image being
 * patched). Cached by a key of the suite, the package list, the mirrors and the archives' Release dates.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CopaError } from '../../src/errors.js';
import type { DebianMirrors } from '../../test/helpers/mirror.js';
import { cachedLayer, run, shortHash, type BuiltLayer } from './layer.js';

export const SUITE = 'bookworm';

/**
 * What the native engine spawns besides Node: unshare, chroot, cp, mknod (util-linux/coreutils, essential),
 * mount (overlay, bind, proc), getfattr/setfattr (overlay whiteouts), zstd (--compression zstd), the C++
 * runtime of the Node binary, CA certificates for registries with private CAs.
 */
export const ROOTFS_PACKAGES = ['attr', 'ca-certificates', 'libstdc++6', 'mount', 'zstd'];
/** bump when the recipe below changes */
const RECIPE = 2;
/** merged /usr set up by mmdebstrap itself, so that apt does not pull in usrmerge (and all of perl) */
const MERGED_USR_HOOK = '/usr/share/mmdebstrap/hooks/merged-usr';

/** Leave out what nobody reads in a tool image (copyright files stay). */
const DPKG_OPTS = [
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/locale/*',
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
];

/** Runs in the finished root: no host files, no mirror names left behind, copa's cache and work dirs. */
const CUSTOMIZE = [
  'rm -f "$1/etc/apt/sources.list"',
  ': > "$1/etc/resolv.conf"',
  ': > "$1/etc/hostname"',
  'chmod 0644 "$1/etc/resolv.conf" "$1/etc/hostname"',
  'rm -f "$1/var/log/dpkg.log" "$1/var/log/alternatives.log" "$1/var/cache/ldconfig/aux-cache"',
  'mkdir -p -m 0755 "$1/var/cache/copa" "$1/work"',
].join('; ');

/** The `Date:` of a suite's InRelease: it changes whenever the archive does. */
async function releaseDate(uri: string, suite: string): Promise<string> {
  const url = `${uri}/dists/${suite}/InRelease`;
  let text: string;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    text = await res.text();
  } catch (e) {
    throw new CopaError('NETWORK', `cannot read the ${suite} Release file: ${(e as Error).message}`, {
      hint: 'check the Debian mirror (--mirror / --security-mirror) is reachable',
      cause: e,
    });
  }
  const date = /^Date: (.+)$/m.exec(text)?.[1];
  if (!date) throw new CopaError('NETWORK', `the ${suite} Release file has no Date`);
  return date.trim();
}

export interface RootfsResult extends BuiltLayer {
  cached: boolean;
  key: string;
  /** seconds since the epoch of the newest archive: the rootfs's SOURCE_DATE_EPOCH */
  epoch: number;
}

export async function rootfsLayer(cacheRoot: string, mirrors: DebianMirrors): Promise<RootfsResult> {
  const suites: Array<[string, string]> = [
    [mirrors.main, SUITE],
    [mirrors.main, `${SUITE}-updates`],
    [mirrors.security, `${SUITE}-security`],
  ];
  const dates = await Promise.all(suites.map(([uri, s]) => releaseDate(uri, s)));
  const epoch = Math.max(...dates.map((d) => Math.floor(Date.parse(d) / 1000)));
  const key = `rootfs-${SUITE}-${shortHash({ RECIPE, packages: ROOTFS_PACKAGES, mirrors, dates })}`;
  const createdBy = `mmdebstrap --variant=essential --include=${ROOTFS_PACKAGES.join(',')} ${SUITE} ${SUITE}-updates ${SUITE}-security`;
  const layer = await cachedLayer(cacheRoot, key, async (tmp) => {
    const argv = [
      '--variant=essential',
      `--include=${ROOTFS_PACKAGES.join(',')}`,
      '--skip=output/dev',
      ...(existsSync(MERGED_USR_HOOK) ? [`--hook-dir=${MERGED_USR_HOOK}`] : []),
      ...DPKG_OPTS.map((o) => `--dpkgopt=${o}`),
      `--customize-hook=${CUSTOMIZE}`,
      SUITE,
      join(tmp, 'layer.tar'),
      ...suites.map(([uri, s]) => `deb ${uri} ${s} main`),
    ];
    // private mount + pid namespaces; if we die (even by kill -9), so do unshare (pdeathsig) and mmdebstrap
    // (--kill-child), and the kernel drops its mounts
    const ns = ['--mount', '--propagation=private', '--pid', '--kill-child'];
    await run('setpriv', ['--pdeathsig=KILL', 'unshare', ...ns, 'mmdebstrap', ...argv], {
      env: { ...process.env, TMPDIR: tmp, LC_ALL: 'C', SOURCE_DATE_EPOCH: String(epoch) },
    });
    return createdBy;
  });
  return { ...layer, key, epoch };
}
