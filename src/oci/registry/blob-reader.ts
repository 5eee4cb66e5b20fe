import { Readable, pipeline } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { CopaError } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import { DigestStream } from '../digest.js';
import { describeError, isRetryableError, retryDelay } from './retry.js';
import { header, type HttpResponse } from './transport.js';

export interface BlobReaderOptions {
  digest: string;
  size?: number | undefined;
  /** "blob sha256:… of 127.0.0.1:5000/app" */
  what: string;
  registry: string;
  /** GET the blob from `offset` (a Range request when > 0); throws for unusable statuses */
  fetchFrom: (offset: number) => Promise<HttpResponse>;
  retries: number;
  retryBaseMs: number;
  logger?: Logger;
}

/** Start offset of a `Content-Range: bytes <start>-<end>/<total>` header. */
export function contentRangeStart(value: string | undefined): number | undefined {
  const m = value === undefined ? null : /^bytes\s+(\d+)-\d+\/(?:\d+|\*)$/i.exec(value.trim());
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** Total length announced by a full (200) response, if any. */
function announcedLength(res: HttpResponse): number | undefined {
  const len = header(res.headers, 'content-length');
  return res.status === 200 && len !== undefined && /^\d+$/.test(len) ? Number(len) : undefined;
}

/**
 * One continuous, digest-verified stream of a blob. When the connection breaks mid-body it asks again
 * from the byte it got to (Range); a server that ignores Range sends the whole blob again and the bytes
 * the consumer already has are skipped. The first request is made before this resolves, so a missing
 * blob is a rejected promise rather than a stream error.
 */
export async function openBlob(opts: BlobReaderOptions): Promise<Readable> {
  const logger = opts.logger ?? silentLogger;
  const first = await opts.fetchFrom(0);
  const total = opts.size ?? announcedLength(first);

  async function* chunks(): AsyncGenerator<Buffer> {
    let res: HttpResponse | undefined = first;
    let offset = 0;
    let failures = 0;
    try {
      for (;;) {
        try {
          let skip = 0;
          if (res.status === 206) {
            const start = contentRangeStart(header(res.headers, 'content-range'));
            if (start !== offset) {
              throw new CopaError(
                'REGISTRY',
                `${opts.what}: registry resumed at byte ${start ?? '?'} instead of ${offset}`,
                {
                  hint: 'retry; the registry or a proxy mishandles range requests',
                },
              );
            }
          } else {
            skip = offset; // a full response: drop what was already passed on
          }
          for await (const raw of res.body as AsyncIterable<Buffer>) {
            let chunk = raw;
            if (skip > 0) {
              if (chunk.length <= skip) {
                skip -= chunk.length;
                continue;
              }
              chunk = chunk.subarray(skip);
              skip = 0;
            }
            offset += chunk.length;
            yield chunk;
          }
          if (total !== undefined && offset < total) {
            throw Object.assign(new Error(`connection closed after ${offset} of ${total} bytes`), {
              code: 'ECONNRESET',
            });
          }
          return;
        } catch (err) {
          res?.body.destroy();
          res = undefined;
          if (err instanceof CopaError) throw err;
          // every byte arrived before the connection broke: nothing to resume (a Range from the end is a
          // 416); the digest check decides
          if (total !== undefined && offset >= total) return;
          if (!isRetryableError(err) || failures >= opts.retries) {
            throw new CopaError('NETWORK', `reading ${opts.what}: ${describeError(err)}`, {
              hint: `the connection to ${opts.registry} keeps failing; check the network and retry`,
              cause: err,
            });
          }
          const wait = retryDelay(failures, undefined, { baseMs: opts.retryBaseMs });
          failures++;
          logger.debug(
            `reading ${opts.what} broke at byte ${offset} (${describeError(err)}); resuming in ${wait} ms`,
          );
          await sleep(wait);
          res = await opts.fetchFrom(offset);
        }
      }
    } finally {
      // the consumer stopped early or an error ended the generator: release the connection
      res?.body.destroy();
    }
  }

  const verified = new DigestStream({ digest: opts.digest, size: opts.size, what: opts.what });
  pipeline(Readable.from(chunks(), { objectMode: false }), verified, () => {
    // errors reach the consumer through `verified`, which pipeline destroys with them
  });
  return verified;
}
