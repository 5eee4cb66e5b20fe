import type { Readable } from 'node:stream';
import { CopaError } from '../../errors.js';
import { repositoryScope, type Authenticator } from './auth.js';
import { baseUrl, type Repo } from './hosts.js';
import { header, type HttpMethod, type HttpResponse, type Transport } from './transport.js';
import { checkRepository, isRedirect, sameOrigin } from './urls.js';

export type Access = 'pull' | 'push';

export interface CallRequest {
  method: HttpMethod;
  /** path below /v2/<repository>/, or an absolute URL (upload locations) */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string | (() => Promise<Readable>);
  what: string;
  /** retry on 429/5xx/connection errors (default true) */
  retry?: boolean;
}

const MAX_REDIRECTS = 5;

/** Authenticated distribution API calls on one transport: the layer under RegistryClient's methods. */
export class RegistryApi {
  constructor(
    readonly transport: Transport,
    private readonly auth: Authenticator,
    private readonly insecure: readonly string[],
  ) {}

  base(registry: string): string {
    return baseUrl(registry, this.insecure);
  }

  /** An absolute URL for a Location header (which may be relative to the registry). */
  resolve(repo: Repo, location: string | undefined, what: string): string {
    if (location === undefined || location === '') {
      throw new CopaError(
        'REGISTRY',
        `${what}: the registry did not say where to go next (no Location header)`,
      );
    }
    return new URL(location, this.base(repo.registry)).toString();
  }

  /**
   * One call: the Authorization header for the scopes (`access` on the repository, or explicit scope
   * strings), redirects of GET/HEAD followed (credentials only to the registry's own origin), and
   * after a 401 one more attempt with fresh authentication.
   */
  async call(repo: Repo, access: Access | string[], req: CallRequest): Promise<HttpResponse> {
    checkRepository(repo.repository);
    const scopes = typeof access === 'string' ? [repositoryScope(repo.repository, access)] : access;
    const base = this.base(repo.registry);
    const first = /^https?:\/\//.test(req.path) ? req.path : `${base}/v2/${repo.repository}/${req.path}`;
    for (let authAttempt = 0; ; authAttempt++) {
      const authorization = await this.auth.authorization(repo.registry, scopes);
      let url = first;
      let res: HttpResponse;
      for (let redirects = 0; ; redirects++) {
        const own = sameOrigin(url, base);
        const headers: Record<string, string> = { ...req.headers };
        if (authorization !== undefined && own) headers['authorization'] = authorization;
        res = await this.transport.send({
          ...req,
          url,
          headers,
          registry: own ? repo.registry : new URL(url).host,
        });
        const location = header(res.headers, 'location');
        const follow = req.method === 'GET' || req.method === 'HEAD';
        if (follow && isRedirect(res.status) && location && redirects < MAX_REDIRECTS) {
          await res.body.dump();
          url = new URL(location, url).toString();
          continue;
        }
        break;
      }
      if (!sameOrigin(url, base)) {
        // the answer came from another host (blob storage): our credentials were never sent there, and
        // fresh ones would not be either
        return { ...res, redirectedTo: new URL(url).host };
      }
      if (res.status === 401 && authAttempt === 0) {
        if (await this.auth.unauthorized(repo.registry, scopes, res.headers['www-authenticate'])) {
          await res.body.dump();
          continue;
        }
      }
      return res;
    }
  }

  /** The CopaError for an unexpected response; AUTH errors say who the client tried to be. */
  async fail(repo: Repo, what: string, res: HttpResponse): Promise<CopaError> {
    const err = await this.transport.fail({ registry: repo.registry, what }, res);
    if (err.code === 'AUTH' && res.redirectedTo !== undefined) {
      return new CopaError(
        'AUTH',
        `${what}: ${res.redirectedTo}, where registry ${repo.registry} redirected, denied access (HTTP ${res.status}); credentials are never sent to another host`,
        {
          hint: `${repo.registry} redirects to storage that wants credentials of its own; ask its operator (the redirect should carry its own access, such as a signed URL)`,
        },
      );
    }
    if (err.code !== 'AUTH') return err;
    const user = await this.auth.username(repo.registry);
    const who = user === undefined ? 'anonymously (no credentials found)' : `as ${user}`;
    return new CopaError('AUTH', `${err.message}; tried ${who}`, { hint: err.hint });
  }
}
