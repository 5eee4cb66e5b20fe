import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Image } from '../../src/oci/image.js';
import { parseReference } from '../../src/oci/reference.js';
import { RegistryClient } from '../../src/oci/registry/client.js';
import { pushImage } from '../../src/oci/registry/push.js';
import { caught, digestOf, expectComplete, image } from '../helpers/fault-checks.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeBigImage, makeLayout, run, skopeoCopy } from '../helpers/skopeo.js';
import { makeTokenKeys, startTokenServer, type TokenServer } from '../helpers/token-server.js';

/**
 * Registry faults (issue 17 item 3) that involve credentials: a token-auth registry whose token stops
 * being accepted mid-run (the proxy drops the Authorization header once, so the real registry answers 401
 * with its real challenge, as for an expired token), and blob redirects to another origin (another
 * loopback port) that must never receive our credentials. Titles read "<fault> on <operation> → <outcome>".
 */

const USER = 'faults-user';
const PASSWORD = 'faults-pa55word-never-forwarded';
const credential = { username: USER, password: PASSWORD };
const credentials = { get: () => Promise.resolve(credential) };

describe('registry faults with a token server', () => {
  let reg: TestRegistry;
  let tokens: TokenServer;
  let proxy: FaultProxy;
  let dir: string;
  let client: RegistryClient;
  let big: Image;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'copa-test-faults-token-'));
    const keys = await makeTokenKeys(dir);
    const service = 'faults-registry';
    const issuer = 'faults-issuer';
    tokens = await startTokenServer({
      keys,
      issuer,
      service,
      users: { [USER]: PASSWORD },
      policy: (user, _repo, requested) => (user === USER ? requested : []),
    });
    reg = await startRegistry({
      token: { realm: tokens.realm, service, issuer, rootcertbundle: keys.certPath },
    });
    await makeBigImage(join(dir, 'big'), 'big', 2 * 1024 * 1024);
    await skopeoCopy(`oci:${join(dir, 'big')}:big`, `docker://${reg.host}/src/big:1`, {
      destCreds: { user: USER, pass: PASSWORD },
    });
    proxy = await startFaultProxy(reg.host);
    client = new RegistryClient({ credentials, retries: 4, retryBaseMs: 5 });
    big = await image(client, `${reg.host}/src/big:1`);
  });

  beforeEach(() => {
    proxy.rules.length = 0;
    proxy.requests.length = 0;
    proxy.redirectAuth = undefined;
  });

  afterAll(async () => {
    await client?.close();
    await proxy?.stop();
    await reg?.stop();
    await tokens?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Token requests made while `fn` ran, as their scope lists. */
  async function tokenScopes(fn: () => Promise<void>): Promise<string[]> {
    const before = tokens.requests.length;
    await fn();
    return tokens.requests.slice(before).map((r) => r.scopes.join(' '));
  }

  it('401 after token expiry on manifest pull → re-authenticated and succeeded', async () => {
    const c = new RegistryClient({ credentials, retryBaseMs: 5 });
    const repo = { registry: proxy.host, repository: 'src/big' };
    await c.getManifest(repo, '1'); // a token for pull is cached now
    proxy.requests.length = 0;
    proxy.rules.push({ method: 'GET', path: /\/manifests\/1$/, fault: { kind: 'unauthorized' }, times: 1 });
    const scopes = await tokenScopes(async () => {
      expect((await c.getManifest(repo, '1')).digest).toBe(await big.digest());
    });
    await c.close();
    expect(scopes).toEqual(['repository:src/big:pull']);
    const gets = proxy.requests.filter((r) => r.url.endsWith('/manifests/1'));
    expect(gets.map((r) => r.fault)).toEqual(['unauthorized', undefined]);
    expect(gets[1]!.headers.authorization).toMatch(/^Bearer /);
  });

  it('401 after token expiry mid-push (blob upload and manifest PUT) → re-authenticated and succeeded', async () => {
    const ref = `${proxy.host}/dst/token:1`;
    proxy.rules.push({
      method: 'PATCH',
      path: /\/blobs\/uploads\//,
      fault: { kind: 'unauthorized' },
      times: 1,
    });
    proxy.rules.push({ method: 'PUT', path: /\/manifests\/1$/, fault: { kind: 'unauthorized' }, times: 1 });
    const scopes = await tokenScopes(async () => {
      await pushImage(client, big, parseReference(ref), { concurrency: 1 });
    });
    // one token for the push, then a fresh one after each 401
    expect(scopes.filter((s) => s === 'repository:dst/token:pull,push')).toHaveLength(3);
    expect(proxy.requests.filter((r) => r.fault === 'unauthorized')).toHaveLength(2);
    expect(await expectComplete(ref.replace(proxy.host, reg.host), credential)).toBe(await big.digest());
  });

  it('redirect to blob storage that wants auth on pull (token not forwarded) → AUTH naming the storage host, the token never sent there', async () => {
    const layer = (await (await image(client, `${proxy.host}/src/big:1`)).layers())[0]!;
    proxy.rules.push({ method: 'GET', path: /\/blobs\/sha256:/, fault: { kind: 'redirect' } });
    const err = await caught(layer.compressed());
    expect(err.code).toBe('AUTH');
    expect(err.message).toContain(
      `${proxy.redirectHost}, where registry ${proxy.host} redirected, denied access`,
    );
    const atTarget = proxy.requests.filter((r) => r.via === 'redirect-target');
    expect(atTarget.length).toBeGreaterThanOrEqual(1);
    expect(atTarget.every((r) => r.headers.authorization === undefined)).toBe(true);
    const atProxy = proxy.requests.filter((r) => r.via === 'proxy');
    expect(atProxy.every((r) => r.headers.authorization?.startsWith('Bearer '))).toBe(true);
    proxy.rules.length = 0;
    expect(await digestOf(await layer.compressed())).toEqual({ digest: layer.digest, size: layer.size });
  });
});

describe('registry faults: redirects with Basic credentials', () => {
  let reg: TestRegistry;
  let proxy: FaultProxy;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'copa-test-faults-basic-'));
    const { stdout } = await run('htpasswd', ['-Bbn', USER, PASSWORD]);
    await writeFile(join(dir, 'htpasswd'), stdout);
    reg = await startRegistry({ htpasswd: join(dir, 'htpasswd') });
    await makeLayout(join(dir, 'layout'), [{ tag: 'v1', layers: [{ 'f.txt': 'redirected\n' }] }]);
    await skopeoCopy(`oci:${join(dir, 'layout')}:v1`, `docker://${reg.host}/src/app:v1`, {
      destCreds: { user: USER, pass: PASSWORD },
    });
    proxy = await startFaultProxy(reg.host);
  });

  afterAll(async () => {
    await proxy?.stop();
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('redirect to blob storage that wants auth on pull (password not forwarded) → AUTH naming the storage host, the password never sent there', async () => {
    const client = new RegistryClient({ credentials, retryBaseMs: 5 });
    proxy.rules.push({ method: 'GET', path: /\/blobs\/sha256:/, fault: { kind: 'redirect' } });
    const err = await caught(image(client, `${proxy.host}/src/app:v1`).then((i) => i.config()));
    await client.close();
    expect(err.code).toBe('AUTH');
    expect(err.message).toContain(
      `${proxy.redirectHost}, where registry ${proxy.host} redirected, denied access`,
    );
    expect(err.message).not.toContain(PASSWORD);
    const atTarget = proxy.requests.filter((r) => r.via === 'redirect-target');
    expect(atTarget.length).toBeGreaterThanOrEqual(1);
    expect(atTarget.every((r) => r.headers.authorization === undefined)).toBe(true);
  });
});
