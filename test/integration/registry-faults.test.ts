import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CopaError } from '../../src/errors.js';
import type { Image, Layer } from '../../src/oci/image.js';
import { parseReference } from '../../src/oci/reference.js';
import { RegistryClient } from '../../src/oci/registry/client.js';
import { pushImage } from '../../src/oci/registry/push.js';
import { fetchRemote } from '../../src/oci/registry/remote.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeBigImage, makeLayout, run, skopeoCopy } from '../helpers/skopeo.js';
import { makeTokenKeys } from '../helpers/token-server.js';

const BIG = 3 * 1024 * 1024;

async function digestOf(stream: NodeJS.ReadableStream): Promise<{ digest: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of stream) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}

async function caught(p: Promise<unknown>): Promise<CopaError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CopaError);
  return err as CopaError;
}

async function image(client: RegistryClient, ref: string): Promise<Image> {
  const got = await fetchRemote(client, parseReference(ref));
  if (got.kind !== 'image') throw new Error(`${ref} is an index`);
  return got.image;
}

describe('registry client through a fault-injecting proxy', () => {
  let reg: TestRegistry;
  let proxy: FaultProxy;
  let dir: string;
  let client: RegistryClient;
  let bigLayer: Layer;
  const blobPath = (digest: string): RegExp => new RegExp(`/blobs/${digest}$`);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'copa-test-faults-'));
    reg = await startRegistry();
    const layout = join(dir, 'layout');
    await makeBigImage(layout, 'big', BIG);
    await skopeoCopy(`oci:${layout}:big`, `docker://${reg.host}/src/big:1`);
    proxy = await startFaultProxy(reg.host);
    client = new RegistryClient({ retries: 4, retryBaseMs: 5 });
    bigLayer = (await (await image(client, `${proxy.host}/src/big:1`)).layers())[0]!;
    expect(bigLayer.size).toBeGreaterThan(BIG / 2);
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
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('503 burst then 429 with Retry-After on manifest pull → retried and succeeded', async () => {
    proxy.rules.push({
      method: 'GET',
      path: /\/manifests\/1$/,
      fault: { kind: 'status', status: 503 },
      times: 2,
    });
    proxy.rules.push({
      method: 'GET',
      path: /\/manifests\/1$/,
      fault: { kind: 'status', status: 429, retryAfter: '1' },
      times: 1,
    });
    const got = await client.getManifest({ registry: proxy.host, repository: 'src/big' }, '1');
    expect(got.bytes.length).toBeGreaterThan(0);
    const gets = proxy.requests.filter((r) => r.url.endsWith('/manifests/1'));
    expect(gets.map((r) => r.fault)).toEqual(['status', 'status', 'status', undefined]);
  });

  it('persistent 502 on manifest pull → REGISTRY after the configured retries', async () => {
    proxy.rules.push({ method: 'GET', path: /\/manifests\/1$/, fault: { kind: 'status', status: 502 } });
    const err = await caught(client.getManifest({ registry: proxy.host, repository: 'src/big' }, '1'));
    expect(err.code).toBe('REGISTRY');
    expect(err.message).toContain('HTTP 502');
    expect(proxy.requests.filter((r) => r.url.endsWith('/manifests/1'))).toHaveLength(5);
  });

  it('connection reset mid-blob on pull → resumed with a Range request and succeeded', async () => {
    proxy.rules.push({
      method: 'GET',
      path: blobPath(bigLayer.digest),
      fault: { kind: 'reset', afterBytes: 1_000_000 },
      times: 1,
    });
    const got = await digestOf(await bigLayer.compressed());
    expect(got).toEqual({ digest: bigLayer.digest, size: bigLayer.size });
    const gets = proxy.requests.filter((r) => blobPath(bigLayer.digest).test(r.url));
    expect(gets).toHaveLength(2);
    expect(gets[0]!.headers.range).toBeUndefined();
    expect(gets[1]!.headers.range).toMatch(/^bytes=[1-9]\d*-$/);
  });

  it('resets mid-blob on pull, Range ignored → started over, skipped what it had, succeeded', async () => {
    proxy.rules.push({
      method: 'GET',
      path: blobPath(bigLayer.digest),
      fault: { kind: 'reset', afterBytes: 700_000 },
      times: 2,
    });
    proxy.rules.push({ method: 'GET', path: blobPath(bigLayer.digest), fault: { kind: 'no-range' } });
    const got = await digestOf(await bigLayer.compressed());
    expect(got).toEqual({ digest: bigLayer.digest, size: bigLayer.size });
    const faults = proxy.requests.filter((r) => blobPath(bigLayer.digest).test(r.url)).map((r) => r.fault);
    expect(faults).toEqual(['reset', 'reset', 'no-range']);
  });

  it('slow responses (200 ms, trickled body) on pull → succeeded', async () => {
    proxy.rules.push({ path: /\/v2\/src\/big\//, fault: { kind: 'slow', delayMs: 200, chunkDelayMs: 2 } });
    const slow = await image(client, `${proxy.host}/src/big:1`);
    const layer = (await slow.layers())[0]!;
    expect(await digestOf(await layer.compressed())).toEqual({ digest: layer.digest, size: layer.size });
  });

  it('wrong digest (corrupt bytes) on blob pull → DIGEST_MISMATCH', async () => {
    proxy.rules.push({ method: 'GET', path: blobPath(bigLayer.digest), fault: { kind: 'corrupt' } });
    const stream = await bigLayer.compressed();
    const err = await caught(digestOf(stream));
    expect(err.code).toBe('DIGEST_MISMATCH');
    expect(err.message).toContain(bigLayer.digest);
  });

  it('wrong digest (corrupt bytes) on manifest pull by digest → DIGEST_MISMATCH', async () => {
    const repo = { registry: proxy.host, repository: 'src/big' };
    const { digest } = await client.getManifest(repo, '1');
    proxy.rules.push({
      method: 'GET',
      path: new RegExp(`/manifests/${digest}$`),
      fault: { kind: 'corrupt' },
    });
    const err = await caught(client.getManifest(repo, digest));
    expect(err.code).toBe('DIGEST_MISMATCH');
  });

  it('persistent 500 on blob upload (push) → REGISTRY after restarting each upload, no tag', async () => {
    const src = await image(client, `${reg.host}/src/big:1`);
    proxy.rules.push({
      method: 'PATCH',
      path: /\/v2\/dst\/big\/blobs\/uploads\//,
      fault: { kind: 'status', status: 500 },
    });
    const err = await caught(pushImage(client, src, parseReference(`${proxy.host}/dst/big:1`)));
    expect(err.code).toBe('REGISTRY');
    expect(err.message).toContain('HTTP 500');
    // each blob's upload was restarted `retries` times before giving up
    expect(proxy.requests.filter((r) => r.method === 'PATCH').length).toBeGreaterThanOrEqual(5);
    expect(proxy.requests.some((r) => r.method === 'PUT' && r.url.includes('/manifests/'))).toBe(false);
    // asked directly, the registry has no such tag
    const direct = new RegistryClient();
    expect(await direct.headManifest({ registry: reg.host, repository: 'dst/big' }, '1')).toBeUndefined();
    await direct.close();
    await expect(
      run('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/dst/big:1`]),
    ).rejects.toThrow();
  });

  it('503 burst on blob upload (push) → upload restarted, image complete', async () => {
    const src = await image(client, `${reg.host}/src/big:1`);
    proxy.rules.push({
      method: 'PATCH',
      path: /\/v2\/dst\/retry\/blobs\/uploads\//,
      fault: { kind: 'status', status: 503 },
      times: 2,
    });
    const pushed = await pushImage(client, src, parseReference(`${proxy.host}/dst/retry:1`));
    expect(pushed.digest).toBe(await src.digest());
    const back = await image(client, `${reg.host}/dst/retry:1`);
    const layer = (await back.layers())[0]!;
    expect(await digestOf(await layer.compressed())).toEqual({ digest: layer.digest, size: layer.size });
  }, 15000);
});

describe('redirects and proxies', () => {
  let reg: TestRegistry;
  let proxy: FaultProxy;
  let dir: string;
  const USER = 'redirect-user';
  const PASSWORD = 'redirect-pa55word';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'copa-test-redirect-'));
    const { stdout } = await run('htpasswd', ['-Bbn', USER, PASSWORD]);
    await writeFile(join(dir, 'htpasswd'), stdout);
    reg = await startRegistry({ htpasswd: join(dir, 'htpasswd') });
    const layout = join(dir, 'layout');
    await makeLayout(layout, [{ tag: 'v1', layers: [{ 'f.txt': 'redirected\n' }] }]);
    await skopeoCopy(`oci:${layout}:v1`, `docker://${reg.host}/src/app:v1`, {
      destCreds: { user: USER, pass: PASSWORD },
    });
    proxy = await startFaultProxy(reg.host);
  });

  afterAll(async () => {
    await proxy?.stop();
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('redirect to blob storage with its own access on pull → followed and succeeded, credentials not forwarded', async () => {
    const credentials = { get: () => Promise.resolve({ username: USER, password: PASSWORD }) };
    const client = new RegistryClient({ credentials, retryBaseMs: 5 });
    // the second origin stands for a CDN with its own access; it must not get ours
    proxy.redirectAuth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    proxy.rules.push({ method: 'GET', path: /\/blobs\/sha256:/, fault: { kind: 'redirect' } });
    const img = await image(client, `${proxy.host}/src/app:v1`);
    const layer = (await img.layers())[0]!;
    expect(await digestOf(await layer.compressed())).toEqual({ digest: layer.digest, size: layer.size });
    await client.close();
    const atProxy = proxy.requests.filter((r) => r.via === 'proxy' && r.url.includes('/blobs/'));
    const atTarget = proxy.requests.filter((r) => r.via === 'redirect-target');
    expect(atProxy.length).toBeGreaterThanOrEqual(2); // config + layer
    expect(atProxy.every((r) => r.headers.authorization?.startsWith('Basic '))).toBe(true);
    expect(atTarget).toHaveLength(atProxy.length);
    expect(atTarget.every((r) => r.headers.authorization === undefined)).toBe(true);
  });

  it('reaches a non-loopback registry through HTTP_PROXY, and directly when NO_PROXY names it', async () => {
    const name = 'registry.invalid:5000';
    const credentials = { get: () => Promise.resolve({ username: USER, password: PASSWORD }) };
    await withProxyEnv({ HTTP_PROXY: `http://${proxy.host}` }, async () => {
      const viaProxy = new RegistryClient({ insecureRegistries: [name], credentials, retryBaseMs: 5 });
      const tags = await viaProxy.listTags({ registry: name, repository: 'src/app' });
      await viaProxy.close();
      expect(tags).toEqual(['v1']);
      expect(proxy.requests.filter((r) => r.via === 'connect').map((r) => r.url)).toContain(name);
    });
    proxy.requests.length = 0;
    await withProxyEnv({ HTTP_PROXY: `http://${proxy.host}`, NO_PROXY: 'registry.invalid' }, async () => {
      const direct = new RegistryClient({ insecureRegistries: [name], credentials, retries: 0 });
      const err = await caught(direct.listTags({ registry: name, repository: 'src/app' }));
      await direct.close();
      expect(err.code).toBe('NETWORK');
      expect(err.message).toContain(name);
      expect(proxy.requests).toHaveLength(0);
    });
  });

  it('verifies TLS for a registry that is neither loopback nor named insecure', async () => {
    // an HTTPS server with a self-signed certificate, reached as registry.invalid through a CONNECT tunnel
    const keys = await makeTokenKeys(dir);
    let served = 0;
    const server = createHttpsServer(
      { key: await readFile(keys.keyPath), cert: await readFile(keys.certPath) },
      (_req, res) => {
        served++;
        res.end('{}');
      },
    );
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
    );
    const tunnel = await startFaultProxy(`127.0.0.1:${port}`);
    try {
      await withProxyEnv({ HTTPS_PROXY: `http://${tunnel.host}` }, async () => {
        const client = new RegistryClient({ retries: 0 });
        const err = await caught(client.getManifest({ registry: 'registry.invalid', repository: 'a' }, 'v1'));
        await client.close();
        expect(err.code).toBe('NETWORK');
        expect(err.message).toContain('registry registry.invalid: TLS connection failed');
        expect(err.hint).toContain('NODE_EXTRA_CA_CERTS');
      });
      expect(tunnel.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['CONNECT registry.invalid:443']);
      expect(served).toBe(0);
    } finally {
      await tunnel.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

const PROXY_VARS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy'];

/** Run `fn` with exactly these proxy variables set (the others unset), then restore the environment. */
async function withProxyEnv(vars: Record<string, string>, fn: () => Promise<void>): Promise<void> {
  const saved = Object.fromEntries(PROXY_VARS.map((k) => [k, process.env[k]]));
  try {
    for (const k of PROXY_VARS) delete process.env[k];
    Object.assign(process.env, vars);
    await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
