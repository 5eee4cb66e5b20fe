import { CopaError } from '../../errors.js';
import { sandboxEnv } from '../../engine/env.js';
import type { RunResult, RootName } from '../../engine/types.js';
import type { PackageManagerContext } from '../types.js';
import { metadataFailure, rpmErrorLine } from './parse.js';

export interface StepOptions {
  /** what the step is, for messages: "dnf check-update" */
  what: string;
  in?: RootName;
  /** exit codes that are not failures (check-update exits 100 when updates exist) */
  ok?: readonly number[];
  /** stream the output to the progress display */
  live?: boolean;
  stdin?: string;
}

const HINT = 'run with --debug to see the package manager output';

/** Run one package-manager step; a failure is a one-line PACKAGE_MANAGER error. */
export async function step(
  ctx: PackageManagerContext,
  argv: string[],
  opts: StepOptions,
): Promise<RunResult> {
  const r = await ctx.session.run(argv, {
    env: sandboxEnv(),
    ...(opts.in ? { in: opts.in } : {}),
    ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
    ...(opts.live && ctx.onOutput ? { onOutput: ctx.onOutput } : {}),
  });
  if (!(opts.ok ?? [0]).includes(r.code)) {
    throw new CopaError(
      'PACKAGE_MANAGER',
      `${opts.what} failed (exit ${r.code}): ${rpmErrorLine(r.stderr, r.stdout)}`,
      {
        hint: opts.in === 'tooling' ? `${HINT}; --tooling-image picks another tooling image` : HINT,
      },
    );
  }
  return r;
}

/** Refresh metadata; a repository that could not be fetched is an error (dnf itself may just skip it). */
export async function refreshStep(
  ctx: PackageManagerContext,
  argv: string[],
  opts: StepOptions,
): Promise<void> {
  const r = await step(ctx, argv, { ...opts, live: true });
  const failure = metadataFailure(`${r.stdout}\n${r.stderr}`);
  if (failure === undefined) return;
  const msg = `${opts.what} could not fetch the repository metadata: ${failure}`;
  if (!ctx.ignoreErrors) {
    throw new CopaError('PACKAGE_MANAGER', msg, {
      hint: "check the image's repository files (/etc/yum.repos.d) and that its release is still served",
    });
  }
  ctx.logger.warn(`${msg} (continuing: --ignore-errors)`);
}

/** The install step: a failure is an error, or a warning with --ignore-errors (Copa's behaviour). */
export async function applyStep(
  ctx: PackageManagerContext,
  argv: string[],
  opts: StepOptions,
): Promise<void> {
  try {
    await step(ctx, argv, { ...opts, live: true });
  } catch (e) {
    if (!ctx.ignoreErrors || !(e instanceof CopaError)) throw e;
    ctx.logger.warn(`${e.message} (continuing: --ignore-errors)`);
  }
}
