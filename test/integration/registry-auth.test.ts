import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopaError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { parseReference } from '../../src/oci/reference.js';
import { RegistryClient } from '../../src/oci/registry/client.js';
import { DockerConfigCredentials } from '../../src/oci/registry/credentials.js';
import { pushImage } from '../../src/oci/registry/push.js';
import { fetchRemote } from '../../src/oci/registry/remote.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { inspect, makeLayout, run, skopeoCopy } from '../helpers/skopeo.js';
import {
  makeTokenKeys,
  startTokenServer,
  type TokenServer,
  type TokenServerOptions,
} from '../helpers/token-server.js';

const USER = 'copa-user';
const PASSWORD = 'S3cret-pa55word-never-shown';
const WRONG = 'Wr0ng-pa55word-never-shown';
const b64 = (s: string): string => Buffer.from(s).toString('base64');

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, debug: (m) => lines.push(m), info: (m) => lines.push(m), warn: (m) => lines.push(m) };
}

/** Everything a user could see of an error: message, hint, stack and the whole cause chain. */
function errorText(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < 10 && e instanceof Error; i++) {
    parts.push(e.message, e.stack ?? '', String(e), JSON.stringify(e));
    if (e instanceof CopaError && e.hint) parts.push(e.hint);
    e = e.cause;
  }
  return parts.join('\n');
}

function expectNoSecrets(text: string, secrets: string[]): void {
  for (const s of secrets) expect(text).not.toContain(s);
}

async function caught(p: Promise<unknown>): Promise<CopaError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CopaError);
  return err as CopaError;
}

describe('registry auth: htpasswd (Basic)', () => {
  let reg: TestRegistry;
  let dir: string;
  let layout: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'copa-test-auth-'));
    const { stdout } = await run('htpasswd', ['-Bbn', USER, PASSWORD]);
    await writeFile(join(dir, 'htpasswd'), stdout);
    reg = await startRegistry({ htpasswd: join(dir, 'htpasswd') });
    layout = join(dir, 'layout');
    await makeLayout(layout, [{ tag: 'v1', layers: [{ 'hello.txt': 'hello\n' }] }]);
    await skopeoCopy(`oci:${layout}:v1`, `docker://${reg.host}/team/app:v1`, {
      destCreds: { user: USER, pass: PASSWORD },
    });
  });

  afterAll(async () => {
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A docker config dir holding `config`, and an env that points at it (nothing else). */
  async function env(
    name: string,
    config: unknown,
    extra: NodeJS.ProcessEnv = {},
  ): Promise<NodeJS.ProcessEnv> {
    const d = join(dir, name);
    await mkdir(d, { recursive: true });
    await writeFile(join(d, 'config.json'), JSON.stringify(config));
    return { PATH: process.env['PATH'], HOME: join(dir, 'home-' + name), DOCKER_CONFIG: d, ...extra };
  }

  function clientFor(e: NodeJS.ProcessEnv, logger: Logger): RegistryClient {
    return new RegistryClient({
      credentials: new DockerConfigCredentials({ env: e, logger }),
      logger,
      retryBaseMs: 5,
    });
  }

  it('fails with AUTH naming the registry when there are no credentials', async () => {
    const logger = recordingLogger();
    const client = clientFor(await env('none', {}), logger);
    const err = await caught(fetchRemote(client, parseReference(`${reg.host}/team/app:v1`)));
    await client.close();
    expect(err.code).toBe('AUTH');
    expect(err.message).toContain(reg.host);
    expect(err.hint).toContain(`docker login ${reg.host}`);
  });

  it('fails with AUTH and never shows a wrong password', async () => {
    const logger = recordingLogger();
    const client = clientFor(
      await env('wrong', { auths: { [reg.host]: { auth: b64(`${USER}:${WRONG}`) } } }),
      logger,
    );
    const err = await caught(fetchRemote(client, parseReference(`${reg.host}/team/app:v1`)));
    await client.close();
    expect(err.code).toBe('AUTH');
    expect(err.message).toContain(reg.host);
    expectNoSecrets(errorText(err) + logger.lines.join('\n'), [WRONG, b64(`${USER}:${WRONG}`)]);
  });

  it('pulls and pushes with credentials from $DOCKER_CONFIG/config.json', async () => {
    const logger = recordingLogger();
    const client = clientFor(
      await env('good', { auths: { [`http://${reg.host}/v2/`]: { auth: b64(`${USER}:${PASSWORD}`) } } }),
      logger,
    );
    const got = await fetchRemote(client, parseReference(`${reg.host}/team/app:v1`));
    if (got.kind !== 'image') throw new Error('expected an image');
    await pushImage(client, got.image, parseReference(`${reg.host}/team/copy:v1`));
    await client.close();
    const seen = await inspect(`${reg.host}/team/copy:v1`, { user: USER, pass: PASSWORD });
    expect(seen.Digest).toBe(await got.image.digest());
    expect(logger.lines.some((l) => l.includes('credentials for'))).toBe(true);
    expectNoSecrets(logger.lines.join('\n'), [PASSWORD, b64(`${USER}:${PASSWORD}`)]);
  });

  it('uses username/password fields of a config entry too', async () => {
    const client = clientFor(
      await env('fields', { auths: { [reg.host]: { username: USER, password: PASSWORD } } }),
      recordingLogger(),
    );
    const tags = await client.listTags({ registry: reg.host, repository: 'team/app' });
    await client.close();
    expect(tags).toEqual(['v1']);
  });

  it('asks a credential helper (credHelpers, then credsStore) with the host on stdin', async () => {
    const bin = join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    const calls = join(bin, 'calls.log');
    // a fixture credential helper speaking the docker-credential-helpers protocol
    const script = [
      '#!/bin/sh',
      'read -r server',
      `echo "$1 $server" >> '${calls}'`,
      `if [ "$1" = get ] && [ "$server" = '${reg.host}' ]; then`,
      `  printf '{"ServerURL":"%s","Username":"${USER}","Secret":"${PASSWORD}"}' "$server"`,
      'else',
      '  echo "credentials not found in native keychain"; exit 1',
      'fi',
    ].join('\n');
    await writeFile(join(bin, 'docker-credential-test'), script + '\n');
    await chmod(join(bin, 'docker-credential-test'), 0o755);
    const path = `${bin}:${process.env['PATH'] ?? ''}`;

    const logger = recordingLogger();
    const viaHelpers = clientFor(
      await env('helpers', { credHelpers: { [reg.host]: 'test' } }, { PATH: path }),
      logger,
    );
    expect(await viaHelpers.listTags({ registry: reg.host, repository: 'team/app' })).toEqual(['v1']);
    await viaHelpers.close();

    const viaStore = clientFor(
      await env('store', { credsStore: 'test', auths: { [reg.host]: {} } }, { PATH: path }),
      logger,
    );
    expect(await viaStore.listTags({ registry: reg.host, repository: 'team/app' })).toEqual(['v1']);
    await viaStore.close();

    expect((await readFile(calls, 'utf8')).trim().split('\n')).toEqual([
      `get ${reg.host}`,
      `get ${reg.host}`,
    ]);
    expectNoSecrets(logger.lines.join('\n'), [PASSWORD]);

    // a helper that knows nothing about the registry: no credentials, so AUTH
    const unknown = clientFor(
      await env(
        'helper-miss',
        { credHelpers: { 'other.example': 'test', [reg.host]: 'absent' } },
        { PATH: path },
      ),
      logger,
    );
    const err = await caught(unknown.listTags({ registry: reg.host, repository: 'team/app' }));
    await unknown.close();
    expect(err.code).toBe('AUTH');
    expect(logger.lines.some((l) => l.includes('docker-credential-absent not found in PATH'))).toBe(true);
  });

  it("reads podman's $REGISTRY_AUTH_FILE", async () => {
    const authFile = join(dir, 'podman-auth.json');
    await writeFile(
      authFile,
      JSON.stringify({ auths: { [reg.host]: { auth: b64(`${USER}:${PASSWORD}`) } } }),
    );
    const client = clientFor(await env('podman', {}, { REGISTRY_AUTH_FILE: authFile }), recordingLogger());
    expect(await client.listTags({ registry: reg.host, repository: 'team/app' })).toEqual(['v1']);
    await client.close();
  });
});

describe('registry auth: bearer tokens from a token server', () => {
  let reg: TestRegistry;
  let tokens: TokenServer;
  let tokenOpts: TokenServerOptions;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'copa-test-token-'));
    const keys = await makeTokenKeys(dir);
    tokenOpts = {
      keys,
      issuer: 'copa-test-issuer',
      service: 'copa-test-registry',
      users: { [USER]: PASSWORD },
      refreshTokens: { 'refresh-token-never-shown': USER },
      // the user may do everything; anonymous users may only pull public/*
      policy: (user, repository, requested) =>
        user !== undefined ? requested : repository.startsWith('public/') ? ['pull'] : [],
    };
    tokens = await startTokenServer(tokenOpts);
    reg = await startRegistry({
      token: {
        realm: tokens.realm,
        service: tokenOpts.service,
        issuer: tokenOpts.issuer,
        rootcertbundle: keys.certPath,
      },
    });
    const layout = join(dir, 'layout');
    await makeLayout(layout, [{ tag: 'v1', layers: [{ 'hello.txt': 'token\n' }] }]);
    const creds = { user: USER, pass: PASSWORD };
    await skopeoCopy(`oci:${layout}:v1`, `docker://${reg.host}/public/app:v1`, { destCreds: creds });
    await skopeoCopy(`oci:${layout}:v1`, `docker://${reg.host}/private/app:v1`, { destCreds: creds });
  });

  afterAll(async () => {
    await reg?.stop();
    await tokens?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function clientWith(config: unknown, logger: Logger): Promise<RegistryClient> {
    const d = await mkdtemp(join(dir, 'cfg-'));
    await writeFile(join(d, 'config.json'), JSON.stringify(config));
    const env = { PATH: process.env['PATH'], HOME: d, DOCKER_CONFIG: d };
    return new RegistryClient({ credentials: new DockerConfigCredentials({ env }), logger, retryBaseMs: 5 });
  }

  it('pulls anonymously where the policy allows, with a pull-scoped token, cached', async () => {
    tokens.requests.length = 0;
    const client = await clientWith({}, recordingLogger());
    const repo = { registry: reg.host, repository: 'public/app' };
    await client.getManifest(repo, 'v1');
    await client.headManifest(repo, 'v1');
    await client.listTags(repo);
    await client.close();
    expect(tokens.requests).toEqual([
      {
        method: 'GET',
        user: undefined,
        service: 'copa-test-registry',
        scopes: ['repository:public/app:pull'],
        grantType: undefined,
      },
    ]);
  });

  it('refuses anonymous access to a private repository with AUTH', async () => {
    const client = await clientWith({}, recordingLogger());
    const err = await caught(client.getManifest({ registry: reg.host, repository: 'private/app' }, 'v1'));
    await client.close();
    expect(err.code).toBe('AUTH');
    expect(err.message).toContain(reg.host);
  });

  it('pushes with pull,push scope and mounts with pull on the source, never showing secrets', async () => {
    tokens.requests.length = 0;
    const logger = recordingLogger();
    const client = await clientWith({ auths: { [reg.host]: { auth: b64(`${USER}:${PASSWORD}`) } } }, logger);
    const got = await fetchRemote(client, parseReference(`${reg.host}/private/app:v1`));
    if (got.kind !== 'image') throw new Error('expected an image');
    await pushImage(client, got.image, parseReference(`${reg.host}/private/copy:v1`), { logger });
    await client.close();
    expect(logger.lines.some((l) => l.includes('mounted from private/app'))).toBe(true);
    const scopes = tokens.requests.map((r) => r.scopes.join(' '));
    expect(scopes).toContain('repository:private/app:pull');
    expect(scopes).toContain('repository:private/copy:pull,push');
    expect(scopes).toContain('repository:private/copy:pull,push repository:private/app:pull');
    expect(tokens.requests.every((r) => r.user === USER)).toBe(true);
    const seen = await inspect(`${reg.host}/private/copy:v1`, { user: USER, pass: PASSWORD });
    expect(seen.Digest).toBe(await got.image.digest());
    expectNoSecrets(logger.lines.join('\n'), [PASSWORD, b64(`${USER}:${PASSWORD}`), ...tokens.issued]);
  });

  it('accepts a token in `access_token` and exchanges an identity token (refresh grant)', async () => {
    tokenOpts.field = 'access_token';
    tokens.requests.length = 0;
    try {
      const client = await clientWith(
        { auths: { [reg.host]: { identitytoken: 'refresh-token-never-shown' } } },
        recordingLogger(),
      );
      expect(await client.listTags({ registry: reg.host, repository: 'private/app' })).toEqual(['v1']);
      await client.close();
    } finally {
      tokenOpts.field = 'both';
    }
    expect(tokens.requests).toEqual([
      {
        method: 'POST',
        user: USER,
        service: 'copa-test-registry',
        scopes: ['repository:private/app:pull'],
        grantType: 'refresh_token',
      },
    ]);
  });

  it('reports rejected credentials at the token server as AUTH without the password', async () => {
    const logger = recordingLogger();
    const client = await clientWith({ auths: { [reg.host]: { auth: b64(`${USER}:${WRONG}`) } } }, logger);
    const err = await caught(client.getManifest({ registry: reg.host, repository: 'private/app' }, 'v1'));
    await client.close();
    expect(err.code).toBe('AUTH');
    expect(err.message).toContain(reg.host);
    expectNoSecrets(errorText(err) + logger.lines.join('\n'), [WRONG, b64(`${USER}:${WRONG}`)]);
  });
});
