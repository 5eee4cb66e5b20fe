import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryApi } from './api.js';
import { Authenticator } from './auth.js';
import { baseUrl } from './hosts.js';
import { Transport } from './transport.js';

/**
 * A redirect to storage that wants credentials. Two loopback servers stand in for a Basic-auth registry
 * (every blob GET redirected) and its blob storage (401 to everyone); the real pair is in
 * test/integration/registry-faults-auth.test.ts.
 */
let registry: Server;
let storage: Server;
let registryHost: string;
let storageHost: string;
const seen: { where: string; authorization: string | undefined }[] = [];

function listen(s: Server): Promise<string> {
  return new Promise((r) =>
    s.listen(0, '127.0.0.1', () => r(`127.0.0.1:${(s.address() as AddressInfo).port}`)),
  );
}

beforeAll(async () => {
  registry = createServer((req, res) => {
    seen.push({ where: 'registry', authorization: req.headers.authorization });
    if (req.headers.authorization === undefined) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
    } else res.writeHead(307, { location: `http://${storageHost}${req.url ?? '/'}` }).end();
  });
  storage = createServer((req, res) => {
    seen.push({ where: 'storage', authorization: req.headers.authorization });
    res.writeHead(401, { 'www-authenticate': 'Basic realm="storage"' }).end();
  });
  registryHost = await listen(registry);
  storageHost = await listen(storage);
});

afterAll(async () => {
  await Promise.all([new Promise((r) => registry.close(r)), new Promise((r) => storage.close(r))]);
});

describe('RegistryApi and redirects to another origin', () => {
  it('sends no credentials there, does not retry, and names the storage host in the AUTH error', async () => {
    const transport = new Transport({ retryBaseMs: 1 });
    const credentials = { get: () => Promise.resolve({ username: 'u', password: 'p4ss' }) };
    const auth = new Authenticator({ transport, baseUrl: (r) => baseUrl(r, []), credentials });
    const api = new RegistryApi(transport, auth, []);
    const repo = { registry: registryHost, repository: 'a' };
    const res = await api.call(repo, 'pull', {
      method: 'GET',
      path: 'blobs/sha256:00',
      what: 'fetching blob',
    });
    expect(res.status).toBe(401);
    expect(res.redirectedTo).toBe(storageHost);
    const err = await api.fail(repo, 'fetching blob', res);
    await transport.close();
    expect(err.code).toBe('AUTH');
    expect(err.message).toContain(`${storageHost}, where registry ${registryHost} redirected, denied access`);
    expect(err.message).not.toContain('tried as');
    const atStorage = seen.filter((s) => s.where === 'storage');
    expect(atStorage).toHaveLength(1);
    expect(atStorage[0]?.authorization).toBeUndefined();
  });
});
