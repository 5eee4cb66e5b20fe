import { z } from 'zod';
import { CopaError } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import { parseJson } from '../schemas.js';
import type { Credential, CredentialProvider } from './auth-config.js';
import { parseWwwAuthenticate, pickChallenge, type Challenge } from './challenge.js';
import { readAll, type Transport } from './transport.js';

/** `repository:<name>:pull` or `repository:<name>:pull,push` (a push always needs pull too). */
export function repositoryScope(repository: string, access: 'pull' | 'push'): string {
  return `repository:${repository}:${access === 'push' ? 'pull,push' : 'pull'}`;
}

const TokenResponseSchema = z.looseObject({
  token: z.string().optional(),
  access_token: z.string().optional(),
  expires_in: z.number().optional(),
  issued_at: z.string().optional(),
});

interface Token {
  value: string;
  /** epoch ms after which it is not used any more */
  expires: number;
}

/** Token lifetime when the server does not say (the distribution spec's default). */
const DEFAULT_TOKEN_SECONDS = 60;

export interface AuthenticatorOptions {
  transport: Transport;
  /** API base URL of a registry: http(s)://host[:port] */
  baseUrl: (registry: string) => string;
  credentials?: CredentialProvider | undefined;
  logger?: Logger;
  /** clock, for token expiry */
  now?: () => number;
}

/**
 * The Authorization header for a registry and a set of scopes: ping `/v2/` once per registry to learn
 * its challenge, then nothing (anonymous), Basic credentials, or a Bearer token from the realm
 * (credentials sent to the token server when known). Tokens are cached per registry+scopes until expiry.
 */
export class Authenticator {
  private readonly transport: Transport;
  private readonly baseUrl: (registry: string) => string;
  private readonly credentials: CredentialProvider | undefined;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly challenges = new Map<string, Promise<Challenge | undefined>>();
  private readonly tokens = new Map<string, Promise<Token>>();

  constructor(opts: AuthenticatorOptions) {
    this.transport = opts.transport;
    this.baseUrl = opts.baseUrl;
    this.credentials = opts.credentials;
    this.logger = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
  }

  /** The header value to send, or undefined for an anonymous request. */
  async authorization(registry: string, scopes: readonly string[]): Promise<string | undefined> {
    const challenge = await this.challenge(registry);
    if (!challenge) return undefined;
    const cred = await this.credential(registry);
    if (challenge.scheme === 'basic') {
      if (cred?.username === undefined || cred.password === undefined) return undefined;
      const encoded = Buffer.from(`${cred.username}:${cred.password}`).toString('base64');
      this.transport.secrets.add(encoded);
      return `Basic ${encoded}`;
    }
    if (cred?.registryToken !== undefined) return `Bearer ${cred.registryToken}`;
    const token = await this.token(registry, challenge, scopes, cred);
    return `Bearer ${token}`;
  }

  /**
   * After a 401: take the challenge the response carried and forget cached tokens for these scopes.
   * Returns whether a second attempt can change anything.
   */
  async unauthorized(
    registry: string,
    scopes: readonly string[],
    wwwAuthenticate: string | string[] | undefined,
  ): Promise<boolean> {
    const fresh = pickChallenge(parseWwwAuthenticate(wwwAuthenticate));
    const before = await this.challenge(registry);
    if (fresh) this.challenges.set(registry, Promise.resolve(fresh));
    const key = before && this.tokenKey(registry, before, scopes);
    const hadToken = key !== undefined && this.tokens.delete(key);
    if (fresh) {
      const freshKey = this.tokenKey(registry, fresh, scopes);
      this.tokens.delete(freshKey);
    }
    // anonymous before and a challenge now, or a token that may have expired / lacked scope
    return (before === undefined && fresh !== undefined) || hadToken;
  }

  private challenge(registry: string): Promise<Challenge | undefined> {
    let hit = this.challenges.get(registry);
    if (!hit) {
      hit = this.ping(registry);
      this.challenges.set(registry, hit);
      hit.catch(() => this.challenges.delete(registry));
    }
    return hit;
  }

  private async ping(registry: string): Promise<Challenge | undefined> {
    const res = await this.transport.send({
      method: 'GET',
      url: `${this.baseUrl(registry)}/v2/`,
      registry,
      what: `contacting registry ${registry}`,
    });
    await res.body.dump();
    if (res.status === 401) {
      const challenge = pickChallenge(parseWwwAuthenticate(res.headers['www-authenticate']));
      this.logger.debug(`registry ${registry} asks for ${challenge?.scheme ?? 'unknown'} authentication`);
      return challenge;
    }
    return undefined;
  }

  /** The user name the client would log in with (for messages), if any credentials are known. */
  async username(registry: string): Promise<string | undefined> {
    const cred = await this.credential(registry).catch(() => undefined);
    if (!cred) return undefined;
    return cred.username ?? (cred.identityToken !== undefined ? '<identity token>' : '<registry token>');
  }

  private async credential(registry: string): Promise<Credential | undefined> {
    const cred = await this.credentials?.get(registry);
    if (cred) this.transport.secrets.add(cred.password, cred.identityToken, cred.registryToken);
    return cred;
  }

  private tokenKey(registry: string, challenge: Challenge, scopes: readonly string[]): string {
    return [
      registry,
      challenge.params['realm'] ?? '',
      challenge.params['service'] ?? '',
      ...[...scopes].sort(),
    ].join('\n');
  }

  private async token(
    registry: string,
    challenge: Challenge,
    scopes: readonly string[],
    cred: Credential | undefined,
  ): Promise<string> {
    const key = this.tokenKey(registry, challenge, scopes);
    const cached = this.tokens.get(key);
    if (cached) {
      const t = await cached.catch(() => undefined);
      if (t && t.expires > this.now()) return t.value;
      if (this.tokens.get(key) === cached) this.tokens.delete(key);
    }
    const pending = this.fetchToken(registry, challenge, scopes, cred);
    this.tokens.set(key, pending);
    pending.catch(() => {
      if (this.tokens.get(key) === pending) this.tokens.delete(key);
    });
    return (await pending).value;
  }

  private async fetchToken(
    registry: string,
    challenge: Challenge,
    scopes: readonly string[],
    cred: Credential | undefined,
  ): Promise<Token> {
    const realm = challenge.params['realm'];
    if (realm === undefined || !/^https?:\/\//i.test(realm)) {
      throw new CopaError('REGISTRY', `registry ${registry} sent a Bearer challenge without a usable realm`, {
        hint: 'the registry is misconfigured; ask its operator',
      });
    }
    const service = challenge.params['service'];
    const what = `getting a token for ${scopes.join(' ')} from ${registry}`;
    const url = new URL(realm);
    const headers: Record<string, string> = {};
    let body: string | undefined;
    let method: 'GET' | 'POST' = 'GET';
    if (cred?.identityToken !== undefined) {
      // OAuth2 refresh-token grant, as docker does with an identity token
      method = 'POST';
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: cred.identityToken,
        client_id: 'copa',
      });
      if (service !== undefined) form.set('service', service);
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      body = form.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else {
      if (service !== undefined) url.searchParams.set('service', service);
      for (const s of scopes) url.searchParams.append('scope', s);
      if (cred?.username !== undefined && cred.password !== undefined) {
        const encoded = Buffer.from(`${cred.username}:${cred.password}`).toString('base64');
        this.transport.secrets.add(encoded);
        headers['authorization'] = `Basic ${encoded}`;
      }
    }
    this.logger.debug(
      `requesting a token for ${scopes.join(' ')} at ${url.origin}${url.pathname}${headers['authorization'] ? ' with credentials' : ''}`,
    );
    const req = { method, url: url.toString(), headers, body, registry: url.host, what };
    const res = await this.transport.send(req);
    if (res.status !== 200) throw await this.transport.fail({ registry, what }, res);
    const bytes = await readAll(res.body, 1024 * 1024, 'token response');
    const parsed = parseJson(TokenResponseSchema, bytes, `token response from ${url.host}`);
    const value = parsed.token || parsed.access_token;
    if (value === undefined || value === '') {
      throw new CopaError('REGISTRY', `${what}: the token server answered without a token`, {
        hint: 'the token server is misconfigured; ask the registry operator',
      });
    }
    this.transport.secrets.add(value, parsed.token, parsed.access_token);
    const issued = parsed.issued_at !== undefined ? Date.parse(parsed.issued_at) : NaN;
    const start = Number.isNaN(issued) ? this.now() : Math.min(issued, this.now());
    const lifetimeMs = (parsed.expires_in ?? DEFAULT_TOKEN_SECONDS) * 1000;
    // renew a little early: the token must still be valid when the request arrives
    const margin = Math.min(10_000, lifetimeMs / 10);
    return { value, expires: start + lifetimeMs - margin };
  }
}
