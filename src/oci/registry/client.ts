import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { CopaError } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import { isDigest, sha256 } from '../digest.js';
import { MANIFEST_ACCEPT } from '../mediatypes.js';
import { parseJson } from '../schemas.js';
import { RegistryApi, type Access } from './api.js';
import type { CredentialProvider } from './auth-config.js';
import { Authenticator, repositoryScope } from './auth.js';
import { openBlob } from './blob-reader.js';
import { baseUrl, repoName, type Repo } from './hosts.js';
import { Secrets } from './redact.js';
import { header, readAll, Transport, type HttpResponse } from './transport.js';
import { readWhole } from './read-whole.js';
import { cancelUpload, uploadBlob } from './upload.js';
import { checkReference, checkRepository, manifestMediaType, nextLink } from './urls.js';

export type { Repo } from './hosts.js';
export type { Access } from './api.js';

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
  /** the run's deadline/cancellation: aborts requests and blob streams in flight with its reason */
  signal?: AbortSignal;
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
  private readonly api: RegistryApi;
  private readonly logger: Logger;
  private readonly secrets = new Secrets();

  constructor(opts: RegistryClientOptions = {}) {
    const insecure = opts.insecureRegistries ?? [];
    this.logger = opts.logger ?? silentLogger;
    this.transport = new Transport({
      dispatcher: opts.dispatcher,
      retries: opts.retries,
      retryBaseMs: opts.retryBaseMs,
      userAgent: opts.userAgent,
      logger: this.logger,
      secrets: this.secrets,
      signal: opts.signal,
    });
    const auth = new Authenticator({
      transport: this.transport,
      baseUrl: (registry) => baseUrl(registry, insecure),
      credentials: opts.credentials,
      logger: this.logger,
    });
    this.api = new RegistryApi(this.transport, auth, insecure);
  }

  /** Fetch a manifest or index by tag or digest (digest verified when the reference is one). */
  async getManifest(repo: Repo, reference: string): Promise<ManifestResult> {
    return this.guard(async () => {
      const what = `fetching manifest ${ref(repo, reference)}`;
      const { res, bytes } = await this.whole(repo, `manifest ${ref(repo, reference)}`, async () => {
        const got = await this.manifestRequest('GET', repo, reference, what);
        if (got.status !== 200) throw await this.api.fail(repo, what, got);
        return got;
      });
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
      if (res.status !== 200) throw await this.api.fail(repo, what, res);
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
    return (await this.pushManifest(repo, reference, bytes, mediaType)).digest;
  }

  /**
   * putManifest, also returning the `OCI-Subject` response header: a registry with the referrers API
   * sends it when it processed the manifest's `subject` (OCI distribution spec 1.1).
   */
  async pushManifest(
    repo: Repo,
    reference: string,
    bytes: Buffer,
    mediaType: string,
  ): Promise<{ digest: string; subject: string | undefined }> {
    return this.guard(async () => {
      checkRepository(repo.repository);
      checkReference(reference);
      const digest = sha256(bytes);
      if (isDigest(reference) && reference !== digest) {
        throw new CopaError('INTERNAL', `manifest bytes have digest ${digest}, not ${reference}`);
      }
      const what = `pushing manifest ${ref(repo, reference)}`;
      const res = await this.api.call(repo, 'push', {
        method: 'PUT',
        path: `manifests/${reference}`,
        headers: { 'content-type': mediaType },
        body: bytes,
        what,
      });
      if (res.status !== 201 && res.status !== 200 && res.status !== 202)
        throw await this.api.fail(repo, what, res);
      await res.body.dump();
      const echoed = header(res.headers, 'docker-content-digest');
      if (echoed !== undefined && isDigest(echoed) && echoed !== digest) {
        this.logger.warn(
          `registry ${repo.registry} reports digest ${echoed} for a manifest with digest ${digest}`,
        );
      }
      return { digest, subject: header(res.headers, 'oci-subject') };
    });
  }

  /**
   * GET /v2/<name>/referrers/<digest> (the referrers API): the index's bytes, or undefined when the
   * registry answers 404 (no referrers API there: the caller falls back to the `sha256-<hex>` tag).
   */
  async getReferrers(repo: Repo, digest: string): Promise<Buffer | undefined> {
    return this.guard(async () => {
      if (!isDigest(digest)) throw new CopaError('REFERENCE', `invalid digest ${JSON.stringify(digest)}`);
      const what = `listing referrers of ${repoName(repo)}@${digest}`;
      const res = await this.api.call(repo, 'pull', { method: 'GET', path: `referrers/${digest}`, what });
      if (res.status === 404) {
        await res.body.dump();
        return undefined;
      }
      if (res.status !== 200) throw await this.api.fail(repo, what, res);
      return readAll(res.body, MAX_MANIFEST_BYTES, `referrers of ${digest}`);
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
          const res = await this.api.call(repo, 'pull', {
            method: 'GET',
            path: `blobs/${digest}`,
            headers,
            what: `fetching ${what}`,
          });
          if (res.status !== 200 && res.status !== 206)
            throw await this.api.fail(repo, `fetching ${what}`, res);
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
      const res = await this.api.call(repo, access, { method: 'HEAD', path: `blobs/${digest}`, what });
      await res.body.dump();
      if (res.status === 200) return true;
      if (res.status === 404) return false;
      throw await this.api.fail(repo, what, res);
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
      const res = await this.api.call(repo, scopes, {
        method: 'POST',
        path: `blobs/uploads/?${query}`,
        what,
      });
      await res.body.dump();
      if (res.status === 201) return true;
      if (res.status === 202) {
        // the registry opened an upload session instead; close it, the caller uploads normally
        await cancelUpload(this.api, repo, header(res.headers, 'location'));
        return false;
      }
      if (res.status === 404 || res.status === 401 || res.status === 403) return false;
      throw await this.api.fail(repo, what, res);
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
      await uploadBlob(
        this.api,
        repo,
        { digest, size, open },
        {
          retries: this.transport.retries,
          retryBaseMs: this.transport.retryBaseMs,
          logger: this.logger,
          redact: (t) => this.secrets.redact(t),
        },
      );
    });
  }

  /** All tags of a repository (follows the `Link` header's pages of `pageSize` tags). */
  async listTags(repo: Repo, opts: { pageSize?: number } = {}): Promise<string[]> {
    return this.guard(async () => {
      const what = `listing tags of ${repoName(repo)}`;
      const tags: string[] = [];
      let path = `tags/list?n=${opts.pageSize ?? 1000}`;
      for (let page = 0; page < 1000; page++) {
        const { res, bytes } = await this.whole(repo, `tag list of ${repoName(repo)}`, async () => {
          const got = await this.api.call(repo, 'pull', { method: 'GET', path, what });
          if (got.status !== 200) throw await this.api.fail(repo, what, got);
          return got;
        });
        const parsed = parseJson(TagListSchema, bytes, `tag list of ${repoName(repo)}`);
        tags.push(...(parsed.tags ?? []));
        const next = nextLink(header(res.headers, 'link'));
        if (next === undefined) break;
        path = new URL(next, this.api.base(repo.registry)).toString();
      }
      return tags;
    });
  }

  /** Free pooled connections (aborts requests and blob streams still open). The client stays usable. */
  async close(): Promise<void> {
    await this.transport.close();
  }

  /** A small document read whole, asked for again when its body breaks off (see readWhole). */
  private whole(
    repo: Repo,
    what: string,
    send: () => Promise<HttpResponse>,
  ): Promise<{ res: HttpResponse; bytes: Buffer }> {
    return readWhole(send, {
      registry: repo.registry,
      what,
      limit: MAX_MANIFEST_BYTES,
      retries: this.transport.retries,
      retryBaseMs: this.transport.retryBaseMs,
      logger: this.logger,
      redact: (t) => this.secrets.redact(t),
    });
  }

  private manifestRequest(
    method: 'GET' | 'HEAD',
    repo: Repo,
    reference: string,
    what: string,
  ): Promise<HttpResponse> {
    checkReference(reference);
    return this.api.call(repo, 'pull', {
      method,
      path: `manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      what,
    });
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

function ref(repo: Repo, reference: string): string {
  return `${repoName(repo)}${isDigest(reference) ? '@' : ':'}${reference}`;
}
