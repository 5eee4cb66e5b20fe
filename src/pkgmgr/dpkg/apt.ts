import { CopaError } from '../../errors.js';
import { sandboxEnv } from '../../engine/env.js';
import { debVersion } from '../../version/deb.js';
import type { PackageManager, PackageManagerContext } from '../types.js';
import { aptErrorLine, parseAptSimulation, parseDpkgStatus, parseHeld, updateFailure } from './parse.js';

/**
 * apt's source cache (the parsed package lists, ~40 MB, 0.4–0.5 s to build) lives beside the lists, so it is
 * published with them and a run that shares fresh lists loads it instead of parsing every list again. apt
 * checks it against the lists' sizes and dates and replaces it by rename when stale (never in place), so a
 * hard-linked shared copy is never written through.
 */
export const SOURCE_CACHE_OPTS = ['-o', 'Dir::Cache::srcpkgcache=/var/lib/apt/lists/srcpkgcache.bin'];
const APT_OPTS = [
  '-o',
  'Acquire::Retries=3',
  '-o',
  'APT::Get::Assume-Yes=true',
  '-o',
  'Dpkg::Use-Pty=0',
  ...SOURCE_CACHE_OPTS,
];
const INSTALL_OPTS = [
  '--no-install-recommends',
  '-o',
  'Dpkg::Options::=--force-confdef',
  '-o',
  'Dpkg::Options::=--force-confold',
  // no fsync per file: a crash discards the whole upperdir anyway, and fsync on overlayfs is slow
  '-o',
  'Dpkg::Options::=--force-unsafe-io',
];

function env(): Record<string, string> {
  return sandboxEnv({ DEBIAN_FRONTEND: 'noninteractive', DEBCONF_NONINTERACTIVE_SEEN: 'true' });
}

async function apt(ctx: PackageManagerContext, argv: string[], what: string, hint: string): Promise<string> {
  const r = await ctx.session.run(argv, { env: env(), onOutput: ctx.onOutput });
  if (r.code !== 0) {
    throw new CopaError(
      'PACKAGE_MANAGER',
      `${what} failed (exit ${r.code}): ${aptErrorLine(r.stderr, r.stdout)}`,
      {
        hint,
      },
    );
  }
  return r.stdout;
}

/** Debian and Ubuntu images with apt and a dpkg status file (the non-distroless layout). */
export const aptManager: PackageManager = {
  name: 'dpkg',
  scheme: debVersion,
  cachePaths: ['/var/lib/apt/lists', '/var/cache/apt/archives'],
  indexPaths: ['/var/lib/apt/lists'],
  sourcePaths: ['/etc/apt/sources.list', '/etc/apt/sources.list.d'],
  // pkgcache.bin / srcpkgcache.bin describe this image's status: private, never in the layer
  excludePaths: ['/var/log/apt', '/var/cache/apt'],

  async installed(ctx) {
    const status = await ctx.session.readFile('/var/lib/dpkg/status');
    if (status === undefined) {
      throw new CopaError('UNSUPPORTED_OS', 'the image has no /var/lib/dpkg/status file', {
        hint: 'distroless images (status.d) are not supported by this engine yet',
      });
    }
    return parseDpkgStatus(status.toString('utf8'));
  },

  async refresh(ctx, opts) {
    if (opts?.indexesFresh) return;
    const hint =
      "check the image's apt sources and that its release is still served (an end-of-life release moves to the archive)";
    const r = await ctx.session.run(['apt-get', 'update', ...APT_OPTS], {
      env: env(),
      onOutput: ctx.onOutput,
    });
    // apt-get update exits 0 when an index could not be fetched ("W: Failed to fetch"): patching from stale or
    // missing indexes would silently miss fixes, so that is an error too
    const fetchFailure = updateFailure(`${r.stdout}\n${r.stderr}`);
    if (r.code !== 0 || fetchFailure) {
      throw new CopaError(
        'PACKAGE_MANAGER',
        `apt-get update failed: ${fetchFailure ?? aptErrorLine(r.stderr, r.stdout)}`,
        { hint },
      );
    }
  },

  async held(ctx) {
    const status = await ctx.session.readFile('/var/lib/dpkg/status');
    return status === undefined ? [] : parseHeld(status.toString('utf8'));
  },

  async simulate(ctx, names) {
    const argv =
      names === null
        ? ['apt-get', '-s', 'upgrade', ...APT_OPTS]
        : ['apt-get', '-s', 'install', '--only-upgrade', ...APT_OPTS, ...INSTALL_OPTS, ...names];
    const out = await apt(ctx, argv, 'apt-get simulation', 'run with --debug to see apt output');
    return parseAptSimulation(out);
  },

  async download(ctx, names) {
    const argv =
      names === null
        ? ['apt-get', 'upgrade', '--download-only', ...APT_OPTS, ...INSTALL_OPTS]
        : ['apt-get', 'install', '--only-upgrade', '--download-only', ...APT_OPTS, ...INSTALL_OPTS, ...names];
    await apt(
      ctx,
      argv,
      'apt-get download',
      "check the network and the image's apt sources; --debug shows apt output",
    );
  },

  async apply(ctx, names) {
    const argv =
      names === null
        ? ['apt-get', 'upgrade', ...APT_OPTS, ...INSTALL_OPTS]
        : ['apt-get', 'install', '--only-upgrade', ...APT_OPTS, ...INSTALL_OPTS, ...names];
    const r = await ctx.session.run(argv, { env: env(), onOutput: ctx.onOutput });
    if (r.code !== 0) {
      const msg = `apt-get ${names === null ? 'upgrade' : 'install'} failed (exit ${r.code}): ${aptErrorLine(r.stderr, r.stdout)}`;
      if (!ctx.ignoreErrors) {
        throw new CopaError('PACKAGE_MANAGER', msg, { hint: 'run with --debug to see apt output' });
      }
      ctx.logger.warn(`${msg} (continuing: --ignore-errors)`);
    }
  },
};
