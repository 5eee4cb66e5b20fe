/**
 * Typed errors. Every failure the user can see is a CopaError with a stable `code`; only src/cli maps
 * codes to exit codes and prints them (see cli/exit.ts). `hint` is the "next step" shown after the message.
 */
export type ErrorCode =
  | 'USAGE' // bad flags / arguments
  | 'REPORT' // malformed or unsupported report
  | 'UNSUPPORTED_OS'
  | 'PLATFORM' // report for another architecture, platform not in image, emulation missing
  | 'REFERENCE' // image reference cannot be parsed
  | 'NOT_FOUND' // image, tag or blob not found
  | 'AUTH' // 401/403
  | 'NETWORK' // registry unreachable, connection reset after retries
  | 'REGISTRY' // other registry protocol errors
  | 'DIGEST_MISMATCH'
  | 'UNSAFE_LAYER' // hostile tar entry
  | 'PACKAGE_NAME' // name with shell metacharacters etc.
  | 'PACKAGE_MANAGER' // apt/dpkg/... failed
  | 'VALIDATION' // installed version lower than required
  | 'ENVIRONMENT' // not root, overlayfs missing, tool missing
  | 'TIMEOUT'
  | 'LOCKED' // a shared cache / output lock stayed busy past the bounded wait
  | 'CANCELLED'
  | 'NO_UPDATES' // nothing to patch (exit 0)
  | 'JOBS_FAILED' // bulk: some jobs failed for reasons a retry will not fix
  | 'JOBS_RETRYABLE' // bulk: every failed job failed for a passing reason (registry, network, timeout)
  | 'ENGINE' // the BuildKit daemon: unreachable, missing capabilities, failed solve
  | 'INTERNAL';

export class CopaError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CopaError';
    this.code = code;
    this.hint = options.hint;
  }
}

/** Add context to an error while keeping its code ("pulling layer sha256:…: connection reset"). */
export function withContext(err: unknown, context: string): CopaError {
  if (err instanceof CopaError) {
    return new CopaError(err.code, `${context}: ${err.message}`, { hint: err.hint, cause: err });
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new CopaError('INTERNAL', `${context}: ${msg}`, { cause: err });
}

/** Codes of failures that may pass on a retry (registry, network, timeout, a busy lock, an interrupted run). */
const PASSING: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'NETWORK',
  'REGISTRY',
  'TIMEOUT',
  'LOCKED',
  'CANCELLED',
]);

export function isRetryable(err: unknown): boolean {
  return err instanceof CopaError && PASSING.has(err.code);
}
