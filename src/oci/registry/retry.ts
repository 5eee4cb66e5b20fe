/** Retry policy for registry requests: which failures are worth another attempt, and how long to wait. */

/** 429 (rate limited) and 5xx except 501/505 (which will not change on retry). */
export function isRetryableStatus(status: number): boolean {
  if (status === 429) return true;
  return status >= 500 && status <= 599 && status !== 501 && status !== 505;
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** undici error codes that describe a programming or usage problem, not a flaky connection. */
const NON_RETRYABLE_UNDICI = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_INVALID_RETURN_VALUE',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_ABORTED',
  'UND_ERR_ABORT',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_EXCEEDED_MAX_SIZE',
  'UND_ERR_PRX_TLS',
]);

const RETRYABLE_MESSAGES = /socket hang up|other side closed|premature close|connection reset|terminated/i;

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = err.code;
  return typeof code === 'string' ? code : undefined;
}

/** Connection-level failures worth a retry: resets, refusals, timeouts, undici socket errors. Walks `cause`. */
export function isRetryableError(err: unknown): boolean {
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (typeof e === 'object' && e !== null && !seen.has(e)) {
    seen.add(e);
    // our own typed errors (digest mismatch, auth, ...) are final
    if ((e as { name?: unknown }).name === 'CopaError') return false;
    const code = errorCode(e);
    if (code !== undefined) {
      if (RETRYABLE_CODES.has(code)) return true;
      if (code.startsWith('UND_ERR_')) return !NON_RETRYABLE_UNDICI.has(code);
    }
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && RETRYABLE_MESSAGES.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The most useful short description of a connection error (code and message, through `cause`). */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (typeof e === 'object' && e !== null && !seen.has(e)) {
    seen.add(e);
    const code = errorCode(e);
    const message = (e as { message?: unknown }).message;
    const text = typeof message === 'string' && message !== '' ? message : (code ?? '');
    if (text !== '' && !parts.some((p) => p.includes(text)))
      parts.push(code && !text.includes(code) ? `${text} (${code})` : text);
    e = (e as { cause?: unknown }).cause;
  }
  if (parts.length === 0) return String(err);
  return parts.join(': ');
}

/** Retry-After as milliseconds (delta-seconds or an HTTP date), undefined when absent or invalid. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export interface BackoffOptions {
  baseMs: number;
  maxMs?: number;
  /** 0..1, from Math.random by default (tests pass a fixed value) */
  random?: number;
}

/** Exponential backoff with jitter: base * 2^attempt, scaled into [50%, 100%], capped. attempt counts from 0. */
export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  const max = opts.maxMs ?? 30_000;
  const full = Math.min(max, opts.baseMs * 2 ** attempt);
  const r = opts.random ?? Math.random();
  return Math.round(full * (0.5 + r / 2));
}

/** How long to wait before retry number `attempt` (0-based), honouring a server's Retry-After (capped). */
export function retryDelay(attempt: number, retryAfter: string | undefined, opts: BackoffOptions): number {
  const server = parseRetryAfter(retryAfter);
  const own = backoffDelay(attempt, opts);
  if (server === undefined) return own;
  return Math.min(Math.max(server, own), opts.maxMs ?? 30_000);
}
