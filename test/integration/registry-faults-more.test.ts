import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LayerCache } from '../../src/layers/cache.js';
import type { Image, Layer } from '../../src/oci/image.js';
import { parseReference } from '../../src/oci/reference.js';
import { RegistryClient } from '../../src/oci/registry/client.js';
import { pushImage } from '../../src/oci/registry/push.js';
import { caught, digestOf, expectComplete, expectNoTag, image } from '../helpers/fault-checks.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeBigImage, makeLayout, skopeoCopy } from '../helpers/skopeo.js';

/**
 * Registry faults (issue 17 item 3), second set: an anonymous registry behind the fault proxy. Each title
 * reads as a row of the README's Reliability table: "<fault> on <operation> → <outcome>". A scenario
 * that fails must fail with one typed error, leave no tag (or a complete image) and no cache entry, and
 * the same operation without the fault must then succeed.
 */

const BIG = 3 * 1024 * 1024;

describe('registry faults: pull and push through the fault proxy', () => {
  let reg: TestRegistry;
  let proxy: FaultProxy;
  let dir: string;
  let client: RegistryClient;
  let big: Image;
  let bigLayer: Layer;
  let n = 0;
  /** a fresh repository at the target, so every push really uploads */
  const target = (): string => `${proxy.host}/dst/faults-${++n}:1`;
  const direct = (ref: string): string => ref.replace(proxy.host, reg.host);
  const blobPath = (digest: string): RegExp => new RegExp(`/blobs/${digest}$`);
  const uploads = /\/v2\/dst\/[^/]+\/blobs\/uploads\//;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'copa-test-faults-more-'));
    reg = await startRegistry();
    await makeBigImage(join(dir, 'big'), 'big', BIG);
    await skopeoCopy(`oci:${join(dir, 'big')}:big`, `docker://${reg.host}/src/big:1`);
    await makeLayout(join(dir, 'small'), [{ tag: 'v1', layers: [{ 'etc/hello': 'hello\n' }] }]);
    await skopeoCopy(`oci:${join(dir, 'small')}:v1`, `docker://${reg.host}/src/small:v1`);
    proxy = await startFaultProxy(reg.host);
    client = new RegistryClient({ retries: 4, retryBaseMs: 5 });
    big = await image(client, `${reg.host}/src/big:1`);
    bigLayer = (await (await image(client, `${proxy.host}/src/big:1`)).layers())[0]!;
  });

  beforeEach(() => {
    proxy.rules.length = 0;
    proxy.requests.length = 0;
  });

  afterAll(async () => {
    await client?.close();
    await proxy?.stop();
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('503 burst on blob pull → retried and succeeded', async () => {
    proxy.rules.push({
      method: 'GET',
      path: blobPath(bigLayer.digest),
      fault: { kind: 'status', status: 503 },
      times: 3,
    });
    expect(await digestOf(await bigLayer.compressed())).toEqual({
      digest: bigLayer.digest,
      size: bigLayer.size,
    });
    const faults = proxy.requests.filter((r) => blobPath(bigLayer.digest).test(r.url)).map((r) => r.fault);
    expect(faults).toEqual(['status', 'status', 'status', undefined]);
  });

  it('429 with Retry-After on blob upload (push) → waited, retried and succeeded', async () => {
    proxy.rules.push({
      method: 'POST',
      path: uploads,
      fault: { kind: 'status', status: 429, retryAfter: '1' },
      times: 1,
    });
    const ref = target();
    const started = Date.now();
    await pushImage(client, big, parseReference(ref), { concurrency: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    const posts = proxy.requests.filter((r) => r.method === 'POST' && uploads.test(r.url));
    expect(posts.map((r) => r.fault).slice(0, 2)).toEqual(['status', undefined]);
    expect(await expectComplete(direct(ref))).toBe(await big.digest());
  });

  it('connection reset mid-blob on push → upload restarted and succeeded', async () => {
    proxy.rules.push({
      method: 'PATCH',
      path: uploads,
      fault: { kind: 'reset-request', afterBytes: 1_000_000 },
      times: 1,
    });
    const ref = target();
    const counts: number[] = [];
    await pushImage(client, big, parseReference(ref), { concurrency: 1, onBytes: (n) => counts.push(n) });
    expect(proxy.requests.filter((r) => r.fault === 'reset-request')).toHaveLength(1);
    expect(await expectComplete(direct(ref))).toBe(await big.digest());
    // the progress of the restarted upload starts that blob again: never more than the image's bytes
    const manifest = await big.manifest();
    const total = manifest.config.size + manifest.layers.reduce((a, l) => a + l.size, 0);
    expect(Math.max(...counts)).toBeLessThanOrEqual(total);
    expect(counts.at(-1)).toBe(total);
  }, 30_000);

  it('connection reset mid-blob on every push attempt → NETWORK, no tag; the next push succeeded', async () => {
    proxy.rules.push({
      method: 'PATCH',
      path: uploads,
      fault: { kind: 'reset-request', afterBytes: 500_000 },
    });
    const ref = target();
    const err = await caught(pushImage(client, big, parseReference(ref), { concurrency: 1 }));
    expect(err.code).toBe('NETWORK');
    expect(proxy.requests.some((r) => r.method === 'PUT' && r.url.includes('/manifests/'))).toBe(false);
    await expectNoTag(direct(ref));
    proxy.rules.length = 0;
    await pushImage(client, big, parseReference(ref));
    expect(await expectComplete(direct(ref))).toBe(await big.digest());
  }, 30_000);

  it('manifest cut off mid-body (connection closed) on pull → retried and succeeded', async () => {
    proxy.rules.push({
      method: 'GET',
      path: /\/manifests\/1$/,
      fault: { kind: 'reset', afterBytes: 100 },
      times: 1,
    });
    const got = await client.getManifest({ registry: proxy.host, repository: 'src/big' }, '1');
    expect(got.digest).toBe(await big.digest());
    expect(proxy.requests.filter((r) => r.url.endsWith('/manifests/1')).map((r) => r.fault)).toEqual([
      'reset',
      undefined,
    ]);
  });

  it('truncated manifest (short Content-Length) by digest on pull → DIGEST_MISMATCH', async () => {
    const digest = await big.digest();
    proxy.rules.push({
      method: 'GET',
      path: /\/manifests\/sha256:/,
      fault: { kind: 'truncate', bytes: 120 },
    });
    const err = await caught(image(client, `${proxy.host}/src/big@${digest}`));
    expect(err.code).toBe('DIGEST_MISMATCH');
    expect(err.message).toContain(digest);
    proxy.rules.length = 0;
    expect(await (await image(client, `${proxy.host}/src/big@${digest}`)).digest()).toBe(digest);
  });

  it('truncated manifest (short Content-Length) by tag on pull → REGISTRY (not valid JSON)', async () => {
    proxy.rules.push({ method: 'GET', path: /\/manifests\/1$/, fault: { kind: 'truncate', bytes: 120 } });
    const err = await caught(image(client, `${proxy.host}/src/big:1`));
    expect(err.code).toBe('REGISTRY');
    expect(err.message).toContain('is not valid JSON');
    expect(err.message).toContain('src/big');
    proxy.rules.length = 0;
    expect(await (await image(client, `${proxy.host}/src/big:1`)).digest()).toBe(await big.digest());
  });

  it('wrong digest (corrupt bytes) on layer pull into the cache → DIGEST_MISMATCH, no cache entry; the next run succeeded', async () => {
    const cacheDir = join(dir, 'cache');
    const small = await image(client, `${proxy.host}/src/small:v1`);
    const layer = (await small.layers())[0]!;
    proxy.rules.push({ method: 'GET', path: blobPath(layer.digest), fault: { kind: 'corrupt' } });
    const err = await caught(new LayerCache({ dir: cacheDir }).ensure(layer));
    expect(err.code).toBe('DIGEST_MISMATCH');
    expect(await readdir(join(cacheDir, 'layers', 'sha256')).catch(() => [])).toEqual([]);
    expect(await readdir(join(cacheDir, 'layers', 'tmp')).catch(() => [])).toEqual([]);
    proxy.rules.length = 0;
    const path = await new LayerCache({ dir: cacheDir }).ensure(layer);
    expect(await readdir(path)).toContain('etc');
  });

  it('corrupted bytes on blob upload (push) → registry refused, REGISTRY error, no tag; the next push succeeded', async () => {
    proxy.rules.push({ method: 'PATCH', path: uploads, fault: { kind: 'corrupt-request' } });
    const ref = target();
    const err = await caught(pushImage(client, big, parseReference(ref), { concurrency: 1 }));
    expect(err.code).toBe('REGISTRY');
    await expectNoTag(direct(ref));
    proxy.rules.length = 0;
    await pushImage(client, big, parseReference(ref));
    expect(await expectComplete(direct(ref))).toBe(await big.digest());
  });

  it('upload session expired (404 BLOB_UPLOAD_UNKNOWN) on PATCH (push) → new session, succeeded', async () => {
    proxy.rules.push({
      method: 'PATCH',
      path: uploads,
      fault: { kind: 'status', status: 404, code: 'BLOB_UPLOAD_UNKNOWN' },
      times: 1,
    });
    const ref = target();
    await pushImage(client, big, parseReference(ref), { concurrency: 1 });
    const posts = proxy.requests.filter((r) => r.method === 'POST' && uploads.test(r.url));
    expect(posts.length).toBeGreaterThanOrEqual(3); // config, layer, and the restarted one
    expect(await expectComplete(direct(ref))).toBe(await big.digest());
  });

  it('upload session expired (404 BLOB_UPLOAD_UNKNOWN) on the commit PUT (push) → new session, succeeded', async () => {
    proxy.rules.push({
      method: 'PUT',
      path: uploads,
      fault: { kind: 'status', status: 404, code: 'BLOB_UPLOAD_UNKNOWN' },
      times: 1,
    });
    const ref = target();
    await pushImage(client, big, parseReference(ref), { concurrency: 1 });
    expect(await expectComplete(direct(ref))).toBe(await big.digest());
  });

  it('upload session expired on every attempt (push) → REGISTRY after the retries, no tag', async () => {
    proxy.rules.push({
      method: 'PATCH',
      path: uploads,
      fault: { kind: 'status', status: 404, code: 'BLOB_UPLOAD_UNKNOWN' },
    });
    const ref = target();
    const err = await caught(pushImage(client, big, parseReference(ref), { concurrency: 1 }));
    expect(err.code).toBe('REGISTRY');
    expect(err.message).toContain('no longer knows the upload session');
    expect(proxy.requests.filter((r) => r.method === 'PATCH')).toHaveLength(5);
    await expectNoTag(direct(ref));
  });

  it('persistent 500 on manifest PUT (push) → REGISTRY, blobs uploaded but no tag', async () => {
    proxy.rules.push({ method: 'PUT', path: /\/manifests\//, fault: { kind: 'status', status: 500 } });
    const ref = target();
    const err = await caught(pushImage(client, big, parseReference(ref)));
    expect(err.code).toBe('REGISTRY');
    expect(err.message).toContain('HTTP 500');
    await expectNoTag(direct(ref));
    proxy.rules.length = 0;
    await pushImage(client, big, parseReference(ref));
    expect(await expectComplete(direct(ref))).toBe(await big.digest());
  });

  it('redirect to blob storage (another port) on anonymous pull → followed and succeeded', async () => {
    proxy.rules.push({ method: 'GET', path: /\/blobs\/sha256:/, fault: { kind: 'redirect' } });
    const layer = (await (await image(client, `${proxy.host}/src/big:1`)).layers())[0]!;
    expect(await digestOf(await layer.compressed())).toEqual({ digest: layer.digest, size: layer.size });
    expect(proxy.requests.filter((r) => r.via === 'redirect-target').length).toBeGreaterThanOrEqual(2);
  });
});
