import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopaError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { Image, ImageIndex } from '../../src/oci/image.js';
import { MediaType } from '../../src/oci/mediatypes.js';
import { parseReference } from '../../src/oci/reference.js';
import { ManifestSchema } from '../../src/oci/schemas.js';
import { RegistryClient } from '../../src/oci/registry/client.js';
import { pushImage, pushIndex } from '../../src/oci/registry/push.js';
import { fetchRemote } from '../../src/oci/registry/remote.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { addIndex, inspect, inspectConfig, inspectRaw, makeLayout, skopeoCopy } from '../helpers/skopeo.js';

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, debug: (m) => lines.push(m), info: (m) => lines.push(m), warn: (m) => lines.push(m) };
}

async function readStream(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function fetchImage(client: RegistryClient, ref: string): Promise<Image> {
  const got = await fetchRemote(client, parseReference(ref));
  if (got.kind !== 'image') throw new Error(`${ref} is an index`);
  return got.image;
}

async function fetchIndex(
  client: RegistryClient,
  ref: string,
): Promise<{ index: ImageIndex; digest: string }> {
  const got = await fetchRemote(client, parseReference(ref));
  if (got.kind !== 'index') throw new Error(`${ref} is not an index`);
  return got;
}

/** What skopeo sees at `ref` matches the image: manifest bytes, digest, layer digests/sizes, diff_ids. */
async function expectSameAsSkopeo(ref: string, image: Image): Promise<void> {
  const raw = await inspectRaw(ref);
  expect(raw.equals(await image.rawManifest())).toBe(true);
  const info = await inspect(ref);
  expect(info.Digest).toBe(await image.digest());
  const layers = await image.layers();
  expect(info.Layers).toEqual(layers.map((l) => l.digest));
  const stored = ManifestSchema.parse(JSON.parse(raw.toString('utf8')));
  expect(stored.layers.map((l) => [l.digest, l.size])).toEqual(layers.map((l) => [l.digest, l.size]));
  const cfg = await inspectConfig(ref);
  expect(cfg.raw.equals(await image.rawConfig())).toBe(true);
  expect(cfg.diffIDs).toEqual(layers.map((l) => l.diffID));
}

describe('registry client against a real registry', () => {
  let a: TestRegistry;
  let b: TestRegistry;
  let work: string;
  const client = new RegistryClient({ retryBaseMs: 10 });

  beforeAll(async () => {
    [a, b] = await Promise.all([startRegistry(), startRegistry()]);
    work = await mkdtemp(join(tmpdir(), 'copa-test-registry-images-'));
    const lay = join(work, 'layout');
    await makeLayout(lay, [
      { tag: 'v1', layers: [{ 'etc/os-release': 'ID=test\n' }, { 'usr/bin/tool': '#!/bin/sh\necho hi\n' }] },
      { tag: 'amd', architecture: 'amd64', layers: [{ 'arch.txt': 'amd64\n' }] },
      { tag: 'arm', architecture: 'arm64', layers: [{ 'arch.txt': 'arm64\n' }] },
    ]);
    await addIndex(lay, 'multi', [
      { tag: 'amd', architecture: 'amd64' },
      { tag: 'arm', architecture: 'arm64', variant: 'v8' },
    ]);
    await skopeoCopy(`oci:${lay}:v1`, `docker://${a.host}/src/app:v1`);
    await skopeoCopy(`oci:${lay}:v1`, `docker://${a.host}/src/app:v2s2`, { format: 'v2s2' });
    await skopeoCopy(`oci:${lay}:multi`, `docker://${a.host}/src/multi:1`, { all: true });
    await skopeoCopy(`oci:${lay}:multi`, `docker://${a.host}/src/multi:v2s2`, { all: true, format: 'v2s2' });
  });

  afterAll(async () => {
    await client.close();
    await Promise.all([a?.stop(), b?.stop()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('pulls an OCI image lazily and its bytes match what skopeo sees', async () => {
    const image = await fetchImage(client, `${a.host}/src/app:v1`);
    expect(image.mediaType).toBe(MediaType.OciManifest);
    expect(image.source).toEqual({ registry: a.host, repository: 'src/app' });
    await expectSameAsSkopeo(`${a.host}/src/app:v1`, image);
    const layers = await image.layers();
    expect(layers).toHaveLength(2);
    for (const layer of layers) {
      const bytes = await readStream(await layer.compressed());
      expect(bytes.length).toBe(layer.size);
      expect(sha256(bytes)).toBe(layer.digest);
    }
    // by digest too
    const byDigest = await fetchImage(client, `${a.host}/src/app@${await image.digest()}`);
    expect(await byDigest.digest()).toBe(await image.digest());
  });

  it('pushes to another repository of the same registry by mounting the blobs', async () => {
    const image = await fetchImage(client, `${a.host}/src/app:v1`);
    const logger = recordingLogger();
    const pushed = await pushImage(client, image, parseReference(`${a.host}/dst/app:copy`), { logger });
    expect(pushed.digest).toBe(await image.digest());
    expect(logger.lines.filter((l) => l.includes('mounted from src/app'))).toHaveLength(3); // config + 2 layers
    expect(logger.lines.some((l) => l.includes('uploaded'))).toBe(false);
    await expectSameAsSkopeo(`${a.host}/dst/app:copy`, image);
  });

  it('pushes to another registry by uploading, and skips blobs that are already there', async () => {
    const image = await fetchImage(client, `${a.host}/src/app:v1`);
    const logger = recordingLogger();
    await pushImage(client, image, parseReference(`${b.host}/app:copy`), { logger });
    expect(logger.lines.filter((l) => l.includes('uploaded'))).toHaveLength(3);
    await expectSameAsSkopeo(`${b.host}/app:copy`, image);

    const again = recordingLogger();
    await pushImage(client, image, parseReference(`${b.host}/app:again`), { logger: again });
    expect(again.lines.filter((l) => l.includes('already in'))).toHaveLength(3);
    expect(again.lines.some((l) => l.includes('uploaded'))).toBe(false);
    expect((await inspect(`${b.host}/app:again`)).Digest).toBe(await image.digest());
  });

  it('pushes by digest when the target has no tag', async () => {
    const image = await fetchImage(client, `${a.host}/src/app:v1`);
    const digest = await image.digest();
    await pushImage(client, image, { registry: b.host, repository: 'bydigest' });
    expect((await inspect(`${b.host}/bydigest@${digest}`)).Digest).toBe(digest);
    // the repository has no tags at all: distribution answers the tag list with 404
    const tags = await client.listTags({ registry: b.host, repository: 'bydigest' }).catch((e: unknown) => e);
    expect((tags as CopaError).code).toBe('NOT_FOUND');
  });

  it('keeps a Docker schema2 image in its media type family', async () => {
    const image = await fetchImage(client, `${a.host}/src/app:v2s2`);
    expect(image.mediaType).toBe(MediaType.DockerManifest);
    expect((await image.manifest()).config.mediaType).toBe(MediaType.DockerConfig);
    await expectSameAsSkopeo(`${a.host}/src/app:v2s2`, image);
    await pushImage(client, image, parseReference(`${b.host}/app:v2s2`));
    await expectSameAsSkopeo(`${b.host}/app:v2s2`, image);
    const head = await client.headManifest({ registry: b.host, repository: 'app' }, 'v2s2');
    expect(head).toEqual({
      digest: await image.digest(),
      mediaType: MediaType.DockerManifest,
      size: (await image.rawManifest()).length,
    });
  });

  it('reads an OCI index, resolves children, and pushes it whole', async () => {
    const { index, digest } = await fetchIndex(client, `${a.host}/src/multi:1`);
    const raw = await inspectRaw(`${a.host}/src/multi:1`);
    expect(raw.equals(await index.rawManifest())).toBe(true);
    expect(digest).toBe(sha256(raw));
    expect(index.mediaType).toBe(MediaType.OciIndex);
    const descs = (await index.index()).manifests;
    expect(descs.map((d) => d.platform?.architecture)).toEqual(['amd64', 'arm64']);
    const arm = await index.image(descs[1]!);
    expect((await arm.config()).architecture).toBe('arm64');
    expect(await arm.digest()).toBe(descs[1]!.digest);

    const pushed = await pushIndex(client, index, parseReference(`${b.host}/multi:1`));
    expect(pushed.digest).toBe(digest);
    expect((await inspectRaw(`${b.host}/multi:1`)).equals(raw)).toBe(true);
    for (const d of descs) {
      const child = await index.image(d);
      await expectSameAsSkopeo(`${b.host}/multi@${d.digest}`, child);
    }
  });

  it('pushes an index that carries an attestation manifest next to the image', async () => {
    // the shape buildx gives images on Docker Hub: an image plus an in-toto attestation (unknown/unknown)
    const src = { registry: a.host, repository: 'src/attested' };
    const { index: multi } = await fetchIndex(client, `${a.host}/src/multi:1`);
    const amdDesc = (await multi.index()).manifests[0]!;
    await pushImage(client, await multi.image(amdDesc), { ...src, digest: amdDesc.digest });
    const empty = Buffer.from('{}');
    const statement = Buffer.from(
      JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', subject: [] }),
    );
    for (const blob of [empty, statement]) {
      await client.pushBlob(src, sha256(blob), blob.length, () => Promise.resolve(Readable.from([blob])));
    }
    const attestation = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: empty.length },
        layers: [
          {
            mediaType: 'application/vnd.in-toto+json',
            digest: sha256(statement),
            size: statement.length,
            annotations: { 'in-toto.io/predicate-type': 'https://spdx.dev/Document' },
          },
        ],
      }),
    );
    await client.putManifest(src, sha256(attestation), attestation, MediaType.OciManifest);
    const indexBytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [
          amdDesc,
          {
            mediaType: MediaType.OciManifest,
            digest: sha256(attestation),
            size: attestation.length,
            platform: { architecture: 'unknown', os: 'unknown' },
            annotations: {
              'vnd.docker.reference.type': 'attestation-manifest',
              'vnd.docker.reference.digest': amdDesc.digest,
            },
          },
        ],
      }),
    );
    await client.putManifest(src, '1', indexBytes, MediaType.OciIndex);

    const { index } = await fetchIndex(client, `${a.host}/src/attested:1`);
    const att = await index.image((await index.index()).manifests[1]!);
    expect((await att.layers()).map((l) => [l.digest, l.diffID])).toEqual([
      [sha256(statement), sha256(statement)],
    ]);
    await pushIndex(client, index, parseReference(`${b.host}/attested:1`));
    expect((await inspectRaw(`${b.host}/attested:1`)).equals(indexBytes)).toBe(true);
    expect((await inspectRaw(`${b.host}/attested@${sha256(attestation)}`)).equals(attestation)).toBe(true);
    expect(await client.hasBlob({ registry: b.host, repository: 'attested' }, sha256(statement))).toBe(true);
  });

  it('reads a Docker manifest list', async () => {
    const { index } = await fetchIndex(client, `${a.host}/src/multi:v2s2`);
    expect(index.mediaType).toBe(MediaType.DockerManifestList);
    const descs = (await index.index()).manifests;
    const child = await index.image(descs[0]!);
    expect(child.mediaType).toBe(MediaType.DockerManifest);
    await pushIndex(client, index, parseReference(`${b.host}/multi:v2s2`));
    expect((await inspectRaw(`${b.host}/multi:v2s2`)).equals(await index.rawManifest())).toBe(true);
  });

  it('answers HEAD, tag lists and blob checks, and names what is missing', async () => {
    const repo = { registry: a.host, repository: 'src/app' };
    const image = await fetchImage(client, `${a.host}/src/app:v1`);
    expect(await client.headManifest(repo, 'v1')).toMatchObject({
      digest: await image.digest(),
      mediaType: MediaType.OciManifest,
    });
    expect(await client.headManifest(repo, 'nope')).toBeUndefined();
    expect((await client.listTags(repo)).sort()).toEqual(['v1', 'v2s2']);
    const layer = (await image.layers())[0]!;
    expect(await client.hasBlob(repo, layer.digest)).toBe(true);
    expect(await client.hasBlob(repo, sha256(Buffer.from('absent')))).toBe(false);

    const missing = await client.getManifest(repo, 'nope').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(CopaError);
    expect((missing as CopaError).code).toBe('NOT_FOUND');
    expect((missing as CopaError).message).toContain(`${a.host}/src/app:nope`);
    const noBlob = await client.getBlob(repo, sha256(Buffer.from('absent'))).catch((e: unknown) => e);
    expect((noBlob as CopaError).code).toBe('NOT_FOUND');
  });

  it('lists tags page by page (Link header), and a repository that does not exist answers NOT_FOUND', async () => {
    const repo = { registry: a.host, repository: 'src/paged' };
    const image = await fetchImage(client, `${a.host}/src/app:v1`);
    const raw = await image.rawManifest();
    await pushImage(client, image, { ...repo, tag: 't0' });
    const names = ['t0', 't1', 't2', 't3', 't4', 't5', 't6'];
    for (const t of names.slice(1)) await client.putManifest(repo, t, raw, image.mediaType);
    expect((await client.listTags(repo, { pageSize: 2 })).sort()).toEqual(names); // 4 pages of 2
    const gone = await client
      .listTags({ registry: a.host, repository: 'src/never' })
      .catch((e: unknown) => e);
    expect((gone as CopaError).code).toBe('NOT_FOUND');
  });

  it('reports an unreachable registry as NETWORK with the address', async () => {
    const dead = new RegistryClient({ retries: 1, retryBaseMs: 1 });
    const err = await dead
      .getManifest({ registry: '127.0.0.1:1', repository: 'x' }, 'latest')
      .catch((e: unknown) => e);
    await dead.close();
    expect(err).toBeInstanceOf(CopaError);
    expect((err as CopaError).code).toBe('NETWORK');
    expect((err as CopaError).message).toMatch(/registry 127\.0\.0\.1:1 unreachable: .*ECONNREFUSED/);
    expect((err as CopaError).hint).toContain('--insecure-registry');
  });
});
