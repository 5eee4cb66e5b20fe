import { setTimeout as sleep } from 'node:timers/promises';
import { CopaError } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import { networkError } from './errors.js';
import { describeError, isRetryableError, retryDelay } from './retry.js';
import { readAll, type HttpResponse } from './transport.js';

export interface ReadWholeOptions {
  registry: string;
  /** "manifest 127.0.0.1:5000/app:1", for messages */
  what: string;
  /** the largest body accepted */
  limit: number;
  retries: number;
  retryBaseMs: number;
  logger?: Logger;
  redact: (s: string) => string;
}

/**
 * Send a request and read its (small) body whole. The transport retries a failed request, but not a body
 * that breaks off after the headers (a connection reset mid-manifest): that asks again, with backoff, up
 * to `retries` times, then fails with NETWORK. `send` resolves to a usable response or throws.
 */
export async function readWhole(
  send: () => Promise<HttpResponse>,
  opts: ReadWholeOptions,
): Promise<{ res: HttpResponse; bytes: Buffer }> {
  const logger = opts.logger ?? silentLogger;
  for (let attempt = 0; ; attempt++) {
    const res = await send();
    try {
      return { res, bytes: await readAll(res.body, opts.limit, opts.what) };
    } catch (err) {
      res.body.destroy();
      if (err instanceof CopaError) throw err;
      if (!isRetryableError(err) || attempt >= opts.retries) {
        const cause = networkError(opts.registry, err, opts.redact).cause;
        throw new CopaError(
          'NETWORK',
          `reading ${opts.what}: the connection to ${opts.registry} broke off (${opts.redact(describeError(err))})`,
          { hint: `the connection to ${opts.registry} keeps failing; check the network and retry`, cause },
        );
      }
      const wait = retryDelay(attempt, undefined, { baseMs: opts.retryBaseMs });
      logger.debug(
        `reading ${opts.what} broke off (${opts.redact(describeError(err))}); retry ${attempt + 1}/${opts.retries} in ${wait} ms`,
      );
      await sleep(wait);
    }
  }
}
