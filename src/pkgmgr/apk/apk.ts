/**
 * Alpine images (COPA-BEHAVIOUR §2.5): apk runs chrooted in the image. Report mode: `apk add --no-cache` then
 * `apk upgrade --no-cache` of the packages; update-all: `apk upgrade --no-cache`. Installed versions are read
 * from apk's database file, which needs no binary.
 */
import { CopaError } from '../../errors.js';
import { sandboxEnv } from '../../engine/env.js';
import { apkVersion } from '../../version/apk.js';
import type { PackageManager, PackageManagerContext } from '../types.js';
import { apkErrorLine, apkFetchFailure, parseApkActions, parseApkInstalled } from './parse.js';

export const APK_DB = '/lib/apk/db/installed';

async function apk(ctx: PackageManagerContext, argv: string[], what: string, live = false) {
  const r = await ctx.session.run(['apk', ...argv], {
    env: sandboxEnv(),
    ...(live && ctx.onOutput ? { onOutput: ctx.onOutput } : {}),
  });
  if (r.code !== 0) {
    throw new CopaError(
      'PACKAGE_MANAGER',
      `${what} failed (exit ${r.code}): ${apkErrorLine(r.stderr, r.stdout)}`,
      {
        hint: 'run with --debug to see the apk output',
      },
    );
  }
  return r;
}

export const apkManager: PackageManager = {
  name: 'apk',
  scheme: apkVersion,
  cachePaths: ['/var/cache/apk'],
  excludePaths: [],
  async installed(ctx) {
    const db = await ctx.session.readFile(APK_DB);
    if (db === undefined) {
      throw new CopaError('UNSUPPORTED_OS', `the image has no apk database (${APK_DB})`, {
        hint: 'Alpine images without apk (distroless, Wolfi/apko) are not supported, as in Copa',
      });
    }
    return parseApkInstalled(db.toString('utf8'));
  },
  async refresh(ctx) {
    const r = await apk(ctx, ['update'], 'apk update', true);
    const failure = apkFetchFailure(`${r.stdout}\n${r.stderr}`);
    if (failure === undefined) return;
    if (!ctx.ignoreErrors) {
      throw new CopaError('PACKAGE_MANAGER', `apk update could not fetch an index: ${failure}`, {
        hint: "check the image's /etc/apk/repositories and that its release is still served",
      });
    }
    ctx.logger.warn(`apk update could not fetch an index: ${failure} (continuing: --ignore-errors)`);
  },
  held: () => Promise.resolve([]),
  async simulate(ctx, names) {
    const r = await apk(
      ctx,
      ['upgrade', '--simulate', '--no-cache', ...(names ?? [])],
      'apk upgrade --simulate',
    );
    return parseApkActions(r.stdout);
  },
  async apply(ctx, names) {
    try {
      if (names !== null) {
        // `add` first: Copa's workaround for packages whose dependencies must move too
        await apk(ctx, ['add', '--no-cache', ...names], 'apk add', true);
        await apk(ctx, ['upgrade', '--no-cache', ...names], 'apk upgrade', true);
      } else {
        await apk(ctx, ['upgrade', '--no-cache'], 'apk upgrade', true);
      }
    } catch (e) {
      if (!ctx.ignoreErrors || !(e instanceof CopaError)) throw e;
      ctx.logger.warn(`${e.message} (continuing: --ignore-errors)`);
    }
  },
};
