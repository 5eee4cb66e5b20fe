import { pipeline, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { CopaError } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import { DigestStream, isDigest, sha256 } from '../digest.js';
import { MANIFEST_ACCEPT } from '../mediatypes.js';
import { parseJson } from '../schemas.js';
import type { CredentialProvider } from './auth-config.js';
import { Authenticator, repositoryScope } from './auth.js';
import { openBlob } from './blob-reader.js';
import { baseUrl, repoName, type Repo } from './hosts.js';
import { Secrets } from './redact.js';
import { backoffDelay, isRetryableStatus } from './retry.js';
import { header, readAll, Transport, type HttpMethod, type HttpResponse } from './transport.js';
import {
  addQuery,
  checkReference,
  checkRepository,
  isRedirect,
  manifestMediaType,
  nextLink,
  sameOrigin,
} from './urls.js';

export type { Repo } from './hosts.js';
export type Access = 'pull' | 'push';

export interface RegistryClientOptions {
  /** hosts spoken to over plain HTTP (loopback always is): `host:port` or `host` */
  insecureRegistries?: string[];
  credentials?: CredentialProvider;
  logger?: Logger;
  /** retries after the first attempt for 429/5xx/connection errors (default 4) */
  retries?: number;
  /** first backoff step in ms (default 250), doubled per retry, with jitter */
  retryBaseMs?: number;
  userAgent?: string;
  /** one undici dispatcher for every request (default: direct for loopback, HTTP(S)_PROXY/NO_PROXY otherwise) */
  dispatcher?: Dispatcher;
}

export interface ManifestResult {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_SMALL_BLOB_BYTES = 32 * 1024 * 1024;

interface CallRequest {
  method: HttpMethod;
  /** path below /v2/<repository>/, or an absolute URL (upload locations) */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string | (() => Promise<Readable>);
  what: string;
  retry?: boolean;
}

const TagListSchema = z.looseObject({
  name: z.string().optional(),
  tags: z.array(z.string()).nullable().optional(),
});

/**
 * A client for the OCI distribution API: manifests, blobs, uploads, mounts, tags. Authentication
 * (anonymous, Basic, Bearer tokens per scope), retries and redirects happen inside; every failure is a
 * CopaError (AUTH, NOT_FOUND, NETWORK, REGISTRY, DIGEST_MISMATCH) without credentials in its text.
 */
export class RegistryClient {
  private readonly transport: Transport;
  private readonly auth: Authenticator;
  private readonly insecure: string[];
  private readonly logger: Logger;
  private readonly secrets = new Secrets();

  constructor(opts: RegistryClientOptions = {}) {
    this.insecure = opts.insecureRegistries ?? [];
    this.logger = opts.logger ?? silentLogger;
    this.transport = new Transport({
      dispatcher: opts.dispatcher,
      retries: opts.retries,
      retryBaseMs: opts.retryBaseMs,
      userAgent: opts.userAgent,
      logger: this.logger,
      secrets: this.secrets,
    });
    this.auth = new Authenticator({
      transport: this.transport,
      baseUrl: (registry) => baseUrl(registry, this.insecure),
      credentials: opts.credentials,
      logger: this.logger,
    });
  }

  /** Fetch a manifest or index by tag or digest (digest verified when the reference is one). */
  async getManifest(repo: Repo, reference: string): Promise<ManifestResult> {
    return this.guard(async () => {
      const what = `fetching manifest ${ref(repo, reference)}`;
      const res = await this.manifestRequest('GET', repo, reference, what);
      if (res.status !== 200) throw await this.fail(repo, what, res);
      const bytes = await readAll(res.body, MAX_MANIFEST_BYTES, `manifest ${ref(repo, reference)}`);
      const digest = sha256(bytes);
      if (isDigest(reference) && digest !== reference) {
        throw new CopaError('DIGEST_MISMATCH', `manifest ${ref(repo, reference)} has digest ${digest}`, {
          hint: 'the registry or a proxy served wrong content; retry, and report it if it persists',
        });
      }
      const mediaType = manifestMediaType(header(res.headers, 'content-type'), bytes);
      return { bytes, mediaType, digest };
    });
  }

  /** Digest, media type and size of a manifest, or undefined when it does not exist. */
  async headManifest(repo: Repo, reference: string): Promise<ManifestHead | undefined> {
    return this.guard(async () => {
      const what = `checking manifest ${ref(repo, reference)}`;
      const res = await this.manifestRequest('HEAD', repo, reference, what);
      await res.body.dump();
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw await this.fail(repo, what, res);
      const digest = header(res.headers, 'docker-content-digest');
      const type = header(res.headers, 'content-type');
      const length = Number(header(res.headers, 'content-length'));
      if (digest !== undefined && isDigest(digest) && type !== undefined && Number.isInteger(length)) {
        return { digest, mediaType: manifestMediaType(type, undefined), size: length };
      }
      // some registries omit the digest header on HEAD: ask for the manifest itself
      const full = await this.getManifest(repo, reference);
      return { digest: full.digest, mediaType: full.mediaType, size: full.bytes.length };
    });
  }

  /** Store a manifest under a tag or its digest; returns its digest. */
  async putManifest(repo: Repo, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    return this.guard(async () => {
      checkRepository(repo.repository);
      checkReference(reference);
      const digest = sha256(bytes);
      if (isDigest(reference) && reference !== digest) {
        throw new CopaError('INTERNAL', `manifest bytes have digest ${digest}, not ${reference}`);
      }
      const what = `pushing manifest ${ref(repo, reference)}`;
      const res = await this.call(repo, 'push', {
        method: 'PUT',
        path: `manifests/${reference}`,
        headers: { 'content-type': mediaType },
        body: bytes,
        what,
      });
      if (res.status !== 201 && res.status !== 200 && res.status !== 202)
        throw await this.fail(repo, what, res);
      await res.body.dump();
      const echoed = header(res.headers, 'docker-content-digest');
      if (echoed !== undefined && isDigest(echoed) && echoed !== digest) {
        this.logger.warn(
          `registry ${repo.registry} reports digest ${echoed} for a manifest with digest ${digest}`,
        );
      }
      return digest;
    });
  }

  /** The blob's bytes as a stream, digest-verified, resuming on broken connections. */
  async getBlob(repo: Repo, digest: string, size?: number): Promise<Readable> {
    return this.guard(async () => {
      checkRepository(repo.repository);
      if (!isDigest(digest))
        throw new CopaError('REFERENCE', `invalid blob digest ${JSON.stringify(digest)}`);
      const what = `blob ${digest} of ${repoName(repo)}`;
      return openBlob({
        digest,
        size,
        what,
        registry: repo.registry,
        retries: this.transport.retries,
        retryBaseMs: this.transport.retryBaseMs,
        logger: this.logger,
        fetchFrom: async (offset) => {
          const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
          const res = await this.call(repo, 'pull', {
            method: 'GET',
            path: `blobs/${digest}`,
            headers,
            what: `fetching ${what}`,
          });
          if (res.status !== 200 && res.status !== 206) throw await this.fail(repo, `fetching ${what}`, res);
          return res;
        },
      });
    });
  }

  /** A small blob (an image config) read whole and verified. */
  async getBlobBytes(repo: Repo, digest: string): Promise<Buffer> {
    return this.guard(async () => {
      const stream = await this.getBlob(repo, digest);
      return readAll(stream, MAX_SMALL_BLOB_BYTES, `blob ${digest}`);
    });
  }

  /** Whether the repository has the blob (HEAD). `access` picks the token scope to reuse. */
  async hasBlob(repo: Repo, digest: string, access: Access = 'pull'): Promise<boolean> {
    return this.guard(async () => {
      const what = `checking blob ${digest} in ${repoName(repo)}`;
      const res = await this.call(repo, access, { method: 'HEAD', path: `blobs/${digest}`, what });
      await res.body.dump();
      if (res.status === 200) return true;
      if (res.status === 404) return false;
      throw await this.fail(repo, what, res);
    });
  }

  /** Cross-repository mount within one registry; false when the registry would not mount it. */
  async mountBlob(repo: Repo, digest: string, from: Repo): Promise<boolean> {
    return this.guard(async () => {
      if (from.registry !== repo.registry) return false;
      checkRepository(from.repository);
      const what = `mounting blob ${digest} from ${from.repository} into ${repoName(repo)}`;
      const query = `mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from.repository)}`;
      const scopes = [repositoryScope(repo.repository, 'push'), repositoryScope(from.repository, 'pull')];
      const res = await this.call(repo, scopes, { method: 'POST', path: `blobs/uploads/?${query}`, what });
      await res.body.dump();
      if (res.status === 201) return true;
      if (res.status === 202) {
        // the registry opened an upload session instead; close it, the caller uploads normally
        await this.cancelUpload(repo, header(res.headers, 'location'));
        return false;
      }
      if (res.status === 404 || res.status === 401 || res.status === 403) return false;
      throw await this.fail(repo, what, res);
    });
  }

  /**
   * Upload a blob: POST a session, PATCH the bytes (streamed from `open()`, checked against digest
   * and size on the way), PUT to commit. The whole upload restarts (with backoff) on 5xx or a broken
   * connection; `open` is called once per attempt.
   */
  async pushBlob(repo: Repo, digest: string, size: number, open: () => Promise<Readable>): Promise<void> {
    return this.guard(async () => {
      checkRepository(repo.repository);
      if (!isDigest(digest))
        throw new CopaError('REFERENCE', `invalid blob digest ${JSON.stringify(digest)}`);
      for (let attempt = 0; ; attempt++) {
        try {
          await this.uploadOnce(repo, digest, size, open);
          return;
        } catch (err) {
          const retryable =
            err instanceof RetryableUpload || (err instanceof CopaError && err.code === 'NETWORK');
          const cause = err instanceof RetryableUpload ? err.error : err;
          if (!retryable || attempt >= this.transport.retries) throw cause;
          const wait = backoffDelay(attempt, { baseMs: this.transport.retryBaseMs });
          this.logger.debug(
            `${this.secrets.redact((cause as Error).message)}; restarting the upload in ${wait} ms`,
          );
          await sleep(wait);
        }
      }
    });
  }

  /** All tags of a repository (follows pagination). */
  async listTags(repo: Repo): Promise<string[]> {
    return this.guard(async () => {
      const what = `listing tags of ${repoName(repo)}`;
      const tags: string[] = [];
      let path = 'tags/list?n=1000';
      for (let page = 0; page < 1000; page++) {
        const res = await this.call(repo, 'pull', { method: 'GET', path, what });
        if (res.status !== 200) throw await this.fail(repo, what, res);
        const bytes = await readAll(res.body, MAX_MANIFEST_BYTES, 'tag list');
        const parsed = parseJson(TagListSchema, bytes, `tag list of ${repoName(repo)}`);
        tags.push(...(parsed.tags ?? []));
        const next = nextLink(header(res.headers, 'link'));
        if (next === undefined) break;
        path = new URL(next, baseUrl(repo.registry, this.insecure)).toString();
      }
      return tags;
    });
  }

  /** Free pooled connections (aborts requests and blob streams still open). The client stays usable. */
  async close(): Promise<void> {
    await this.transport.close();
  }

  private async uploadOnce(
    repo: Repo,
    digest: string,
    size: number,
    open: () => Promise<Readable>,
  ): Promise<void> {
    const what = `pushing blob ${digest} to ${repoName(repo)}`;
    const start = await this.call(repo, 'push', {
      method: 'POST',
      path: 'blobs/uploads/',
      what,
      headers: { 'content-length': '0' },
    });
    await start.body.dump();
    if (start.status !== 202) throw await this.uploadFailure(repo, what, start);
    const location = this.uploadUrl(repo, header(start.headers, 'location'), what);

    const patch = await this.call(repo, 'push', {
      method: 'PATCH',
      path: location,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body: async () => verifiedUpload(await open(), digest, size),
      what,
      retry: false,
    });
    await patch.body.dump();
    if (patch.status !== 202 && patch.status !== 204) throw await this.uploadFailure(repo, what, patch);
    const commitAt = this.uploadUrl(repo, header(patch.headers, 'location') ?? location, what);

    const put = await this.call(repo, 'push', {
      method: 'PUT',
      path: addQuery(commitAt, 'digest', digest),
      headers: { 'content-length': '0' },
      what,
      retry: false,
    });
    await put.body.dump();
    if (put.status !== 201 && put.status !== 204) throw await this.uploadFailure(repo, what, put);
  }

  private async uploadFailure(repo: Repo, what: string, res: HttpResponse): Promise<Error> {
    const err = await this.fail(repo, what, res);
    return isRetryableStatus(res.status) ? new RetryableUpload(err) : err;
  }

  private uploadUrl(repo: Repo, location: string | undefined, what: string): string {
    if (location === undefined || location === '') {
      throw new CopaError(
        'REGISTRY',
        `${what}: the registry did not say where to upload (no Location header)`,
      );
    }
    return new URL(location, baseUrl(repo.registry, this.insecure)).toString();
  }

  private async cancelUpload(repo: Repo, location: string | undefined): Promise<void> {
    if (location === undefined) return;
    try {
      const url = this.uploadUrl(repo, location, 'cancelling upload');
      const res = await this.call(repo, 'push', {
        method: 'DELETE',
        path: url,
        what: 'cancelling upload',
        retry: false,
      });
      await res.body.dump();
    } catch {
      // best effort: an abandoned session expires on its own
    }
  }

  private manifestRequest(
    method: 'GET' | 'HEAD',
    repo: Repo,
    reference: string,
    what: string,
  ): Promise<HttpResponse> {
    checkReference(reference);
    return this.call(repo, 'pull', {
      method,
      path: `manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      what,
    });
  }

  /**
   * One API call with authentication: sends the Authorization header for the scopes, follows
   * redirects of GET/HEAD (without credentials to another origin), and on a 401 re-authenticates once.
   */
  private async call(repo: Repo, access: Access | string[], req: CallRequest): Promise<HttpResponse> {
    checkRepository(repo.repository);
    const scopes = typeof access === 'string' ? [repositoryScope(repo.repository, access)] : access;
    const base = baseUrl(repo.registry, this.insecure);
    const first = /^https?:\/\//.test(req.path) ? req.path : `${base}/v2/${repo.repository}/${req.path}`;
    for (let authAttempt = 0; ; authAttempt++) {
      const authorization = await this.auth.authorization(repo.registry, scopes);
      let url = first;
      let res: HttpResponse;
      for (let redirects = 0; ; redirects++) {
        const headers: Record<string, string> = { ...req.headers };
        if (authorization !== undefined && sameOrigin(url, base)) headers['authorization'] = authorization;
        const registry = sameOrigin(url, base) ? repo.registry : new URL(url).host;
        res = await this.transport.send({ ...req, url, headers, registry });
        const location = header(res.headers, 'location');
        if (
          isRedirect(res.status) &&
          (req.method === 'GET' || req.method === 'HEAD') &&
          location &&
          redirects < 5
        ) {
          await res.body.dump();
          url = new URL(location, url).toString();
          continue;
        }
        break;
      }
      if (res.status === 401 && authAttempt === 0) {
        const again = await this.auth.unauthorized(repo.registry, scopes, res.headers['www-authenticate']);
        if (again) {
          await res.body.dump();
          continue;
        }
      }
      return res;
    }
  }

  private async fail(repo: Repo, what: string, res: HttpResponse): Promise<CopaError> {
    const err = await this.transport.fail({ registry: repo.registry, what }, res);
    if (err.code !== 'AUTH') return err;
    const user = await this.auth.username(repo.registry);
    const who = user === undefined ? 'anonymously (no credentials found)' : `as ${user}`;
    return new CopaError('AUTH', `${err.message}; tried ${who}`, { hint: err.hint });
  }

  /** Every error leaving the client is a CopaError with secrets removed. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof CopaError) throw this.secrets.scrub(err);
      throw this.secrets.scrub(
        new CopaError(
          'INTERNAL',
          `registry client: ${this.secrets.redact(err instanceof Error ? err.message : String(err))}`,
        ),
      );
    }
  }
}

/** An upload attempt that failed in a way a fresh upload may fix. */
class RetryableUpload extends Error {
  constructor(readonly error: CopaError) {
    super(error.message);
  }
}

/** The upload body, checked against digest and size; destroying it also closes the source. */
function verifiedUpload(source: Readable, digest: string, size: number): Readable {
  const checked = new DigestStream({ digest, size, what: `blob ${digest}` });
  pipeline(source, checked, () => {
    // errors surface through `checked`, which the HTTP request consumes
  });
  return checked;
}

function ref(repo: Repo, reference: string): string {
  return `${repoName(repo)}${isDigest(reference) ? '@' : ':'}${reference}`;
}
