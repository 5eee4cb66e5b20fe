import { pipeline, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { CopaError } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import { DigestStream } from '../digest.js';
import type { RegistryApi } from './api.js';
import { repoName, type Repo } from './hosts.js';
import { backoffDelay, isRetryableStatus } from './retry.js';
import { header, type HttpResponse } from './transport.js';
import { addQuery } from './urls.js';

/** An upload attempt that failed in a way a fresh upload may fix (5xx, 429, broken connection). */
class RetryableUpload extends Error {
  constructor(readonly error: CopaError) {
    super(error.message);
  }
}

/**
 * Upload a blob: POST a session, PATCH the bytes (streamed from `open()`, checked against digest and
 * size on the way), PUT `?digest=` to commit. A failed attempt (5xx, 429, a broken connection, or a
 * session the registry forgot: 404 on PATCH/PUT) restarts from a new session, with backoff, up to
 * `retries` times; `open` is called once per attempt.
 */
export async function uploadBlob(
  api: RegistryApi,
  repo: Repo,
  blob: { digest: string; size: number; open: () => Promise<Readable> },
  opts: { retries: number; retryBaseMs: number; logger?: Logger; redact: (s: string) => string },
): Promise<void> {
  const logger = opts.logger ?? silentLogger;
  for (let attempt = 0; ; attempt++) {
    try {
      await uploadOnce(api, repo, blob);
      return;
    } catch (err) {
      const retryable =
        err instanceof RetryableUpload || (err instanceof CopaError && err.code === 'NETWORK');
      const cause = err instanceof RetryableUpload ? err.error : err;
      if (!retryable || attempt >= opts.retries) throw cause;
      const wait = backoffDelay(attempt, { baseMs: opts.retryBaseMs });
      logger.debug(`${opts.redact((cause as Error).message)}; restarting the upload in ${wait} ms`);
      await sleep(wait);
    }
  }
}

async function uploadOnce(
  api: RegistryApi,
  repo: Repo,
  blob: { digest: string; size: number; open: () => Promise<Readable> },
): Promise<void> {
  const { digest, size, open } = blob;
  const what = `pushing blob ${digest} to ${repoName(repo)}`;
  const failure = async (res: HttpResponse, inSession = false): Promise<Error> => {
    if (inSession && res.status === 404) {
      // the session the registry opened is gone (expired, or garbage-collected): a new one may work
      return new RetryableUpload(
        new CopaError('REGISTRY', `${what}: the registry no longer knows the upload session (HTTP 404)`, {
          hint: 'upload sessions kept expiring; retry, or ask the registry operator about upload timeouts',
        }),
      );
    }
    const err = await api.fail(repo, what, res);
    return isRetryableStatus(res.status) ? new RetryableUpload(err) : err;
  };

  const start = await api.call(repo, 'push', {
    method: 'POST',
    path: 'blobs/uploads/',
    headers: { 'content-length': '0' },
    what,
  });
  await start.body.dump();
  if (start.status !== 202) throw await failure(start);
  const location = api.resolve(repo, header(start.headers, 'location'), what);

  const patch = await api.call(repo, 'push', {
    method: 'PATCH',
    path: location,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
    body: async () => verified(await open(), digest, size),
    what,
    retry: false, // a half-written session cannot be resumed blindly: the whole upload restarts
  });
  await patch.body.dump();
  if (patch.status !== 202 && patch.status !== 204) throw await failure(patch, true);
  const commitAt = api.resolve(repo, header(patch.headers, 'location') ?? location, what);

  const put = await api.call(repo, 'push', {
    method: 'PUT',
    path: addQuery(commitAt, 'digest', digest),
    headers: { 'content-length': '0' },
    what,
    retry: false,
  });
  await put.body.dump();
  if (put.status !== 201 && put.status !== 204) throw await failure(put, true);
}

/** The upload body, checked against digest and size; destroying it also closes the source. */
function verified(source: Readable, digest: string, size: number): Readable {
  const checked = new DigestStream({ digest, size, what: `blob ${digest}` });
  pipeline(source, checked, () => {
    // errors surface through `checked`, which the HTTP request consumes
  });
  return checked;
}

/** Close an upload session the registry opened when it declined a mount (best effort). */
export async function cancelUpload(
  api: RegistryApi,
  repo: Repo,
  location: string | undefined,
): Promise<void> {
  if (location === undefined) return;
  try {
    const url = api.resolve(repo, location, 'cancelling upload');
    const res = await api.call(repo, 'push', {
      method: 'DELETE',
      path: url,
      what: 'cancelling upload',
      retry: false,
    });
    await res.body.dump();
  } catch {
    // an abandoned session expires on its own
  }
}
