/**
 * Arch Linux images (COPA-BEHAVIOUR §2.7): pacman runs chrooted in the image. `pacman -Sy`; report mode
 * `pacman -S --noconfirm <names>`; update-all `pacman -Su --noconfirm` after a `pacman -Qu` check.
 */
import { CopaError } from '../../errors.js';
import { sandboxEnv } from '../../engine/env.js';
import { pacmanVersion } from '../../version/pacman.js';
import type { PackageManager, PackageManagerContext } from '../types.js';
import { pacmanErrorLine, parsePacmanQ, parsePacmanQu, plannedFromPrint } from './parse.js';

async function pacman(
  ctx: PackageManagerContext,
  argv: string[],
  what: string,
  opts: { ok?: number[]; live?: boolean } = {},
) {
  const r = await ctx.session.run(['pacman', ...argv], {
    env: sandboxEnv(),
    ...(opts.live && ctx.onOutput ? { onOutput: ctx.onOutput } : {}),
  });
  if (!(opts.ok ?? [0]).includes(r.code)) {
    throw new CopaError(
      'PACKAGE_MANAGER',
      `${what} failed (exit ${r.code}): ${pacmanErrorLine(r.stderr, r.stdout)}`,
      {
        hint: 'run with --debug to see the pacman output',
      },
    );
  }
  return r;
}

async function installed(ctx: PackageManagerContext): Promise<Map<string, string>> {
  return parsePacmanQ((await pacman(ctx, ['-Q'], 'pacman -Q')).stdout);
}

export const pacmanManager: PackageManager = {
  name: 'pacman',
  scheme: pacmanVersion,
  cachePaths: ['/var/cache/pacman/pkg', '/var/lib/pacman/sync'],
  excludePaths: ['/var/log/pacman.log', '/var/lib/pacman/db.lck'],
  installed,
  async refresh(ctx) {
    await pacman(ctx, ['-Sy'], 'pacman -Sy', { live: true });
  },
  async held(ctx) {
    // IgnorePkg entries show up as "[ignored]" in the update check
    const r = await pacman(ctx, ['-Qu'], 'pacman -Qu', { ok: [0, 1] });
    return parsePacmanQu(r.stdout).ignored;
  },
  async simulate(ctx, names) {
    if (names === null) {
      // exit 1: nothing to upgrade
      const r = await pacman(ctx, ['-Qu'], 'pacman -Qu', { ok: [0, 1] });
      return parsePacmanQu(r.stdout).updates;
    }
    const before = await installed(ctx);
    const r = await pacman(
      ctx,
      ['-S', '--print', '--print-format', '%n %v', '--needed', ...names],
      'pacman -S --print',
    );
    return plannedFromPrint(r.stdout, before);
  },
  async apply(ctx, names) {
    const argv = names === null ? ['-Su', '--noconfirm'] : ['-S', '--noconfirm', ...names];
    try {
      await pacman(ctx, argv, `pacman ${argv[0]}`, { live: true });
    } catch (e) {
      if (!ctx.ignoreErrors || !(e instanceof CopaError)) throw e;
      ctx.logger.warn(`${e.message} (continuing: --ignore-errors)`);
    }
  },
};
