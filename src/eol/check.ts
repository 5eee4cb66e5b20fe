/**
 * End-of-life check of the image's OS release against an endoflife.date-style API
 * (COPA-BEHAVIOUR §2.8). Advisory: every failure becomes a warning and `checked: false`.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { ReadableStream } from 'node:stream/web';
import { Agent, EnvHttpProxyAgent, fetch as undiciFetch, type Dispatcher } from 'undici';
import { z } from 'zod';
import { CopaError } from '../errors.js';
import type { Logger } from '../log.js';
import { isLoopback } from '../oci/registry/hosts.js';
import { eolTarget } from './normalize.js';

export interface OsRelease {
  type: string;
  version: string;
}

export interface EolResult {
  /** API product and release the OS was mapped to. */
  product: string;
  version: string;
  /** `isEol || !isMaintained`; false when unknown. */
  isEol: boolean;
  /** Date the release went (or goes) end-of-life, as the API gives it. */
  eolFrom?: string;
  /** Whether the API answered (a 404 counts: the release is not in its database). */
  checked: boolean;
  /** Why the answer is not a plain yes/no ("not in the EOL database", "HTTP 500", ...). */
  detail?: string;
}

export interface EolHttpResponse {
  status: number;
  body: ReadableStream<Uint8Array> | null;
}

export type EolFetch = (
  url: string,
  init: { method: 'GET'; headers: Record<string, string>; signal: AbortSignal },
) => Promise<EolHttpResponse>;

/** Time source and sleep, injectable so tests need not wait for the backoff. */
export interface EolClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface EolOptions {
  /** Base URL, e.g. `https://endoflife.date/api/v1/products` (a trailing slash is ignored). */
  apiUrl: string;
  logger: Logger;
  /** Default: undici fetch, direct for loopback, else through HTTP(S)_PROXY/NO_PROXY. */
  fetchImpl?: EolFetch;
  signal?: AbortSignal;
  clock?: EolClock;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
}

export const EOL_USER_AGENT = 'copacetic';
export const EOL_TIMEOUT_MS = 10_000;
/** 429 backoff: 1 s, doubling, at most 8 s per wait, all waits within 15 s. */
export const EOL_BACKOFF = { firstMs: 1_000, capMs: 8_000, budgetMs: 15_000 } as const;
const MAX_BODY = 1024 * 1024;

const ReleaseSchema = z.object({
  result: z.looseObject({
    isEol: z.boolean(),
    eolFrom: z.string().nullish(),
    isMaintained: z.boolean(),
  }),
});

export const systemClock: EolClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleepFor(ms, undefined, signal ? { signal } : undefined),
};

/** Wait before retry number `attempt` (0-based): 1 s, 2 s, 4 s, 8 s, 8 s... */
export function backoffDelay(attempt: number): number {
  return Math.min(EOL_BACKOFF.firstMs * 2 ** attempt, EOL_BACKOFF.capMs);
}

class EolFailure extends Error {}

async function readCapped(body: ReadableStream<Uint8Array> | null): Promise<string> {
  if (!body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_BODY) throw new EolFailure(`response larger than ${MAX_BODY} bytes`);
      chunks.push(Buffer.from(value));
    }
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function discard(body: ReadableStream<Uint8Array> | null): Promise<void> {
  try {
    await body?.cancel();
  } catch {
    // nothing to free
  }
}

function describe(err: unknown, timeoutMs: number): string {
  if (err instanceof EolFailure) return err.message;
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  if (err instanceof Error && err.name === 'AbortError') return 'cancelled';
  const cause = err instanceof Error ? (err.cause as NodeJS.ErrnoException | undefined) : undefined;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return err instanceof Error ? err.message : String(err);
}

interface Answer {
  status: number;
  text: string;
  attempts: number;
}

async function getWithBackoff(url: string, fetchImpl: EolFetch, opts: EolOptions): Promise<Answer> {
  const clock = opts.clock ?? systemClock;
  const timeoutMs = opts.timeoutMs ?? EOL_TIMEOUT_MS;
  const started = clock.now();
  for (let attempt = 0; ; attempt++) {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
    const res = await fetchImpl(url, {
      method: 'GET',
      headers: { 'User-Agent': EOL_USER_AGENT, Accept: 'application/json' },
      signal,
    });
    if (res.status !== 429) {
      const text = res.status === 200 ? await readCapped(res.body) : (await discard(res.body), '');
      return { status: res.status, text, attempts: attempt + 1 };
    }
    await discard(res.body);
    const delay = backoffDelay(attempt);
    if (clock.now() - started + delay > EOL_BACKOFF.budgetMs)
      return { status: 429, text: '', attempts: attempt + 1 };
    opts.logger.debug(`EOL API rate limited (HTTP 429); retrying in ${delay / 1000} s`);
    await clock.sleep(delay, opts.signal);
  }
}

function defaultFetch(url: string): { fetchImpl: EolFetch; close: () => Promise<void> } {
  let dispatcher: Dispatcher | undefined;
  try {
    dispatcher = isLoopback(new URL(url).host) ? new Agent() : new EnvHttpProxyAgent();
  } catch {
    dispatcher = new Agent();
  }
  const d = dispatcher;
  return {
    fetchImpl: async (u, init) => {
      const res = await undiciFetch(u, { ...init, dispatcher: d });
      return { status: res.status, body: res.body as ReadableStream<Uint8Array> | null };
    },
    close: () => d.destroy(),
  };
}

/** The request URL: `<apiUrl>/<product>/releases/<version>`. */
export function eolUrl(apiUrl: string, product: string, version: string): string {
  return `${apiUrl.replace(/\/+$/, '')}/${encodeURIComponent(product)}/releases/${encodeURIComponent(version)}`;
}

/** Ask the API whether the OS release is end-of-life. Never throws: failures are warnings. */
export async function checkEol(os: OsRelease, opts: EolOptions): Promise<EolResult> {
  const { product, version } = eolTarget(os);
  const unknown: EolResult = { product, version, isEol: false, checked: false };
  const what = `${os.type} ${os.version}`.trim();
  const skip = (reason: string): EolResult => {
    opts.logger.warn(
      `could not check whether ${what || 'the image OS'} is end-of-life (continuing): ${reason}`,
    );
    return { ...unknown, detail: reason };
  };
  if (product === '' || version === '') return skip('the OS type or version is unknown');

  let url: string;
  try {
    url = eolUrl(opts.apiUrl, product, version);
    new URL(url);
  } catch {
    return skip(`invalid EOL API URL ${JSON.stringify(opts.apiUrl)}`);
  }
  const own = opts.fetchImpl ? undefined : defaultFetch(url);
  const fetchImpl = opts.fetchImpl ?? own?.fetchImpl;
  if (!fetchImpl) return skip('no HTTP client');
  opts.logger.debug(`EOL check: GET ${url}`);
  try {
    const answer = await getWithBackoff(url, fetchImpl, opts);
    if (answer.status === 404) {
      opts.logger.warn(`EOL check: ${product} ${version} is not in the EOL database (HTTP 404)`);
      return { ...unknown, checked: true, detail: 'not in the EOL database' };
    }
    if (answer.status === 429) {
      return skip(`the EOL API is rate limiting requests (HTTP 429 after ${answer.attempts} attempts)`);
    }
    if (answer.status !== 200) return skip(`the EOL API answered HTTP ${answer.status} for ${url}`);
    let json: unknown;
    try {
      json = JSON.parse(answer.text);
    } catch {
      return skip(`the EOL API answer for ${url} is not JSON`);
    }
    const parsed = ReleaseSchema.safeParse(json);
    if (!parsed.success) return skip(`unexpected EOL API answer for ${url} (no result.isEol/isMaintained)`);
    const r = parsed.data.result;
    const result: EolResult = { product, version, isEol: r.isEol || !r.isMaintained, checked: true };
    if (r.eolFrom) result.eolFrom = r.eolFrom;
    opts.logger.debug(`EOL check: ${product} ${version}: isEol=${r.isEol} isMaintained=${r.isMaintained}`);
    return result;
  } catch (err) {
    return skip(`the EOL API could not be reached: ${describe(err, opts.timeoutMs ?? EOL_TIMEOUT_MS)}`);
  } finally {
    await own?.close().catch(() => undefined);
  }
}

/** The warning to show for an end-of-life release. */
export function eolWarning(os: OsRelease, result: EolResult): string {
  const since = result.eolFrom ? ` since ${result.eolFrom}` : '';
  return `${os.type} ${os.version} is end-of-life${since}: it no longer receives security updates, so patching finds fewer fixes; consider moving to a supported release`;
}

/** The error of `--exit-on-eol`. */
export function eolError(os: OsRelease): CopaError {
  return new CopaError('UNSUPPORTED_OS', `exiting due to EOL operating system: ${os.type} ${os.version}`, {
    hint: 'rebase the image on a supported release, or run without --exit-on-eol to patch it anyway',
  });
}
