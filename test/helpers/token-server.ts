import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { selfSigned } from './certs.js';

/**
 * A real token server for the distribution registry's `auth: token` mode: it checks Basic credentials
 * (or an OAuth2 refresh token), grants repository actions by a policy and returns RS256-signed JWTs
 * in the docker token format, with the signing certificate in the `x5c` header. The registry trusts
 * the certificate through `rootcertbundle`.
 */
export interface TokenKeys {
  keyPath: string;
  certPath: string;
}

/** A throw-away RSA key and self-signed certificate made with openssl. */
export async function makeTokenKeys(dir: string): Promise<TokenKeys> {
  const keyPath = join(dir, 'token.key');
  const certPath = join(dir, 'token.crt');
  await selfSigned({ key: keyPath, cert: certPath, cn: 'copa-test-token-issuer', days: 1 });
  return { keyPath, certPath };
}

export interface TokenRequestRecord {
  method: string;
  user: string | undefined;
  service: string | undefined;
  scopes: string[];
  grantType?: string;
}

export interface TokenServerOptions {
  keys: TokenKeys;
  issuer: string;
  service: string;
  /** user -> password */
  users: Record<string, string>;
  /** refresh token -> user (for the identity-token flow) */
  refreshTokens?: Record<string, string>;
  /** actions granted to a user (undefined = anonymous) on a repository, given the requested ones */
  policy: (user: string | undefined, repository: string, requested: string[]) => string[];
  /** which field carries the token in the response (default both) */
  field?: 'token' | 'access_token' | 'both';
  expiresIn?: number;
}

export interface TokenServer {
  /** http://127.0.0.1:port/token */
  realm: string;
  requests: TokenRequestRecord[];
  /** tokens issued so far */
  issued: string[];
  stop(): Promise<void>;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req as AsyncIterable<Buffer>) text += chunk.toString('utf8');
  return text;
}

function parseScope(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const m = /^([a-z]+):(.+):([a-z*,]+)$/.exec(scope);
  if (!m?.[1] || !m[2] || !m[3]) return undefined;
  return { type: m[1], name: m[2], actions: m[3].split(',') };
}

export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const key = createPrivateKey(await readFile(opts.keys.keyPath));
  const cert = new X509Certificate(await readFile(opts.keys.certPath));
  const requests: TokenRequestRecord[] = [];
  const issued: string[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://token');
      const params = req.method === 'POST' ? new URLSearchParams(await body(req)) : url.searchParams;
      const scopes =
        req.method === 'POST'
          ? (params.get('scope') ?? '').split(' ').filter(Boolean)
          : params.getAll('scope');
      let user: string | undefined;
      let denied = false;
      const grantType = params.get('grant_type') ?? undefined;
      if (grantType === 'refresh_token') {
        user = opts.refreshTokens?.[params.get('refresh_token') ?? ''];
        denied = user === undefined;
      } else {
        const auth = req.headers.authorization;
        if (auth?.startsWith('Basic ')) {
          const [u, ...rest] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
          denied = u === undefined || opts.users[u] !== rest.join(':');
          user = u;
        }
      }
      requests.push({
        method: req.method ?? '',
        user,
        service: params.get('service') ?? undefined,
        scopes,
        grantType,
      });
      if (denied) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid credentials' }] }));
        return;
      }
      const access = scopes.flatMap((s) => {
        const parsed = parseScope(s);
        if (!parsed || parsed.type !== 'repository') return [];
        const actions = opts
          .policy(user, parsed.name, parsed.actions)
          .filter((a) => parsed.actions.includes(a));
        return actions.length > 0 ? [{ type: 'repository', name: parsed.name, actions }] : [];
      });
      const now = Math.floor(Date.now() / 1000);
      const expiresIn = opts.expiresIn ?? 300;
      const header = { alg: 'RS256', typ: 'JWT', x5c: [cert.raw.toString('base64')] };
      const claims = {
        iss: opts.issuer,
        sub: user ?? '',
        aud: opts.service,
        exp: now + expiresIn,
        nbf: now - 10,
        iat: now,
        jti: randomUUID(),
        access,
      };
      const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
      const token = `${signingInput}.${b64url(sign('sha256', Buffer.from(signingInput), key))}`;
      issued.push(token);
      const field = opts.field ?? 'both';
      const out: Record<string, unknown> = {
        expires_in: expiresIn,
        issued_at: new Date(now * 1000).toISOString(),
      };
      if (field !== 'access_token') out['token'] = token;
      if (field !== 'token') out['access_token'] = token;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out));
    })().catch(() => res.destroy());
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
  return {
    realm: `http://127.0.0.1:${port}/token`,
    requests,
    issued,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
