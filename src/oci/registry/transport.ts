import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, EnvHttpProxyAgent, request, type Dispatcher } from 'undici';
import { CopaError } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import { networkError, statusError } from './errors.js';
import { isLoopback } from './hosts.js';
import { Secrets } from './redact.js';
import { isRetryableError, isRetryableStatus, retryDelay } from './retry.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A request body; a function is called again for every attempt (streams cannot be replayed). */
export type HttpBody = Buffer | string | (() => Promise<Readable>);

export interface HttpRequest {
  method: HttpMethod;
  url: string;
  headers?: Record<string, string>;
  body?: HttpBody;
  /** registry as the user named it, for messages and proxy choice */
  registry: string;
  /** what the request is for: "fetching manifest 127.0.0.1:5000/app:1" */
  what: string;
  /** retry on 429/5xx and connection errors (default true) */
  retry?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Dispatcher.ResponseData['body'];
  /** host:port that answered, when a redirect led away from the registry's origin */
  redirectedTo?: string;
}

export interface TransportOptions {
  /** one dispatcher for everything (tests); by default loopback goes direct, the rest through EnvHttpProxyAgent */
  dispatcher?: Dispatcher;
  retries?: number;
  retryBaseMs?: number;
  userAgent?: string;
  logger?: Logger;
  secrets?: Secrets;
  /** aborts every request and body in flight (with the signal's reason) and stops retrying */
  signal?: AbortSignal | undefined;
  /**
   * how long a request may wait for the response headers, and a body for its next bytes, before the
   * attempt fails and is retried (default: registryTimeoutMs())
   */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_S = 60;

/**
 * The per-request registry timeout: $COPA_REGISTRY_TIMEOUT seconds, else 60. It bounds a stalled
 * connection (undici alone waits 300 s for headers and 300 s between body bytes); the attempt is then
 * retried like a reset, and a blob resumes from the byte it got to.
 */
export function registryTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.COPA_REGISTRY_TIMEOUT;
  if (raw === undefined || raw === '') return DEFAULT_TIMEOUT_S * 1000;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0) {
    throw new CopaError(
      'USAGE',
      `COPA_REGISTRY_TIMEOUT: expected a number of seconds above 0, got ${JSON.stringify(raw)}`,
      {
        hint: `e.g. COPA_REGISTRY_TIMEOUT=120 (default ${DEFAULT_TIMEOUT_S})`,
      },
    );
  }
  return Math.round(s * 1000);
}

/** First value of a header (undici gives arrays for repeated headers). */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

const MAX_ERROR_BODY = 64 * 1024;

/**
 * HTTP for the registry client: undici, proxy from HTTP(S)_PROXY/NO_PROXY (loopback never proxied),
 * retries with exponential backoff and jitter on 429/5xx/connection errors (Retry-After honoured).
 * Returns every non-retryable response to the caller; throws NETWORK when the server stays unreachable.
 */
export class Transport {
  readonly retries: number;
  readonly secrets: Secrets;
  readonly retryBaseMs: number;
  private readonly userAgent: string;
  private readonly logger: Logger;
  private readonly custom: Dispatcher | undefined;
  private readonly signal: AbortSignal | undefined;
  private readonly timeoutMs: number;
  private direct: Dispatcher | undefined;
  private proxied: Dispatcher | undefined;

  constructor(opts: TransportOptions = {}) {
    this.retries = opts.retries ?? 4;
    this.retryBaseMs = opts.retryBaseMs ?? 250;
    this.userAgent = opts.userAgent ?? 'copa-ts';
    this.logger = opts.logger ?? silentLogger;
    this.secrets = opts.secrets ?? new Secrets();
    this.custom = opts.dispatcher;
    this.signal = opts.signal;
    this.timeoutMs = opts.timeoutMs ?? registryTimeoutMs();
  }

  private dispatcherFor(registry: string): Dispatcher {
    if (this.custom) return this.custom;
    if (isLoopback(registry)) return (this.direct ??= new Agent());
    // reads HTTP_PROXY / HTTPS_PROXY / NO_PROXY (and lower-case variants) when first needed
    return (this.proxied ??= new EnvHttpProxyAgent());
  }

  /** Send with retries. The caller must consume or dump the returned body. */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const retry = req.retry ?? true;
    for (let attempt = 0; ; attempt++) {
      const stream = typeof req.body === 'function' ? await req.body() : undefined;
      const body = stream ?? (typeof req.body === 'function' ? undefined : req.body);
      let res: Dispatcher.ResponseData;
      try {
        res = await request(req.url, {
          method: req.method,
          headers: { 'user-agent': this.userAgent, ...req.headers },
          body,
          dispatcher: this.dispatcherFor(req.registry),
          headersTimeout: this.timeoutMs,
          bodyTimeout: this.timeoutMs,
          ...(this.signal ? { signal: this.signal } : {}),
        });
      } catch (err) {
        if (stream && !stream.destroyed) stream.destroy();
        if (err instanceof CopaError) throw this.secrets.scrub(err);
        const streamError = stream?.errored;
        if (streamError instanceof CopaError) throw this.secrets.scrub(streamError);
        if (retry && attempt < this.retries && isRetryableError(err)) {
          const wait = retryDelay(attempt, undefined, { baseMs: this.retryBaseMs });
          this.logger.debug(
            `${req.method} ${this.safeUrl(req.url)} failed (${this.secrets.redact(String(err))}); retry ${attempt + 1}/${this.retries} in ${wait} ms`,
          );
          await this.pause(wait);
          continue;
        }
        throw this.secrets.scrub(networkError(req.registry, err, (s) => this.secrets.redact(s)));
      }
      this.logger.debug(`${req.method} ${this.safeUrl(req.url)} -> ${res.statusCode}`);
      // the server answered: a body it did not read (an early error) must not hold its source open
      if (stream && !stream.readableEnded && !stream.destroyed) stream.destroy();
      if (retry && attempt < this.retries && isRetryableStatus(res.statusCode)) {
        await res.body.dump();
        const wait = retryDelay(attempt, header(res.headers, 'retry-after'), { baseMs: this.retryBaseMs });
        this.logger.debug(
          `${req.what}: HTTP ${res.statusCode}; retry ${attempt + 1}/${this.retries} in ${wait} ms`,
        );
        await this.pause(wait);
        continue;
      }
      return { status: res.statusCode, headers: res.headers, body: res.body };
    }
  }

  /** Wait before a retry; an aborted run stops waiting with the abort's reason. */
  async pause(ms: number): Promise<void> {
    this.signal?.throwIfAborted();
    await sleep(ms, undefined, this.signal ? { signal: this.signal } : {}).catch((e: unknown) => {
      throw this.signal?.aborted ? (this.signal.reason as unknown) : e;
    });
  }

  /** The CopaError for an unexpected response (reads a bounded part of the body, redacted). */
  async fail(req: Pick<HttpRequest, 'registry' | 'what'>, res: HttpResponse): Promise<CopaError> {
    const text = await readLimited(res.body, MAX_ERROR_BODY).catch(() => '');
    const err = statusError({
      registry: req.registry,
      what: req.what,
      status: res.status,
      body: this.secrets.redact(text),
    });
    return this.secrets.scrub(err);
  }

  /** URL for log lines: no query string (upload state) and no user info. */
  safeUrl(url: string): string {
    try {
      const u = new URL(url);
      return this.secrets.redact(`${u.protocol}//${u.host}${u.pathname}`);
    } catch {
      return '<url>';
    }
  }

  /** Free all connections; requests or blob streams still open are aborted. */
  async close(): Promise<void> {
    const agents = [this.direct, this.proxied];
    this.direct = undefined;
    this.proxied = undefined;
    await Promise.all(agents.flatMap((a) => (a ? [a.destroy()] : [])));
  }
}

/** Read at most `limit` bytes of a body as text, discarding the rest. */
export async function readLimited(body: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (n < limit) chunks.push(chunk.subarray(0, limit - n));
    n += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Read a whole (small) body, failing when it exceeds `limit` bytes. */
export async function readAll(body: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > limit) {
      body.destroy();
      throw new CopaError('REGISTRY', `${what} is larger than ${limit} bytes`, {
        hint: 'the registry sent an unexpectedly large document; check the reference',
      });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
