import { CopaError, type ErrorCode } from '../errors.js';

/** The one place where error codes become exit codes (Copa: 0 ok / nothing to patch, 1 any error). */
const EXIT: Partial<Record<ErrorCode, number>> = {
  NO_UPDATES: 0,
  USAGE: 2,
  /** bulk: EX_TEMPFAIL, "retry me" (a Kubernetes podFailurePolicy or CI retry can key on it) */
  JOBS_RETRYABLE: 75,
  CANCELLED: 130,
};

/** `signal`: what cancelled the run (a CANCELLED error after SIGTERM exits 143, as a shell reports it). */
export function exitCodeFor(err: unknown, signal?: 'SIGINT' | 'SIGTERM'): number {
  if (err instanceof CopaError && err.code === 'CANCELLED' && signal === 'SIGTERM') return 143;
  if (err instanceof CopaError) return EXIT[err.code] ?? 1;
  return 1;
}

/** One line (plus an indented next step) for a user; a stack only with --debug. */
export function formatError(err: unknown, debug: boolean): string {
  if (err instanceof CopaError) {
    const lines = [`Error: ${err.message}`];
    if (err.hint) lines.push(`  next step: ${err.hint}`);
    if (debug && err.stack) lines.push(err.stack);
    return lines.join('\n');
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return debug && e.stack
    ? `Error: ${e.stack}`
    : `Error: ${e.message} (internal error; rerun with --debug and report it)`;
}

/** The `--json` form of a failure (schema/patch-result.schema.json, `$defs/error`). */
export function jsonError(
  err: unknown,
  exitCode: number,
): { status: 'Error'; code: string; exitCode: number; message: string; hint?: string } {
  if (err instanceof CopaError) {
    return {
      status: 'Error',
      code: err.code,
      exitCode,
      message: err.message,
      ...(err.hint ? { hint: err.hint } : {}),
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    status: 'Error',
    code: 'INTERNAL',
    exitCode,
    message: message || 'internal error',
    hint: 'rerun with --debug and report it',
  };
}
