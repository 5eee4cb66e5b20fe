import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../digest.js';
import { RegistryClient } from './client.js';
import {
  artifactManifest,
  EMPTY_DESCRIPTOR,
  fallbackTag,
  listReferrers,
  mergeReferrersIndex,
  pushReferrer,
} from './referrers.js';

const subject = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${'ab'.repeat(32)}`,
  size: 1234,
  platform: { os: 'linux', architecture: 'amd64' },
};

describe('artifact manifests (OCI 1.1)', () => {
  it('the empty descriptor is the spec one: {} with its well-known digest, embedded as data', () => {
    expect(EMPTY_DESCRIPTOR).toEqual({
      mediaType: 'application/vnd.oci.empty.v1+json',
      digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
      size: 2,
      data: 'e30=',
    });
  });

  it('artifactType, empty config, the document as its one layer, a subject of three fields', () => {
    const doc = Buffer.from('{"bomFormat":"CycloneDX"}\n');
    const a = artifactManifest({
      artifactType: 'application/vnd.cyclonedx+json',
      document: doc,
      subject,
      annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
    });
    const m = JSON.parse(a.raw.toString()) as Record<string, unknown>;
    expect(m).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.cyclonedx+json',
      config: EMPTY_DESCRIPTOR,
      layers: [{ mediaType: 'application/vnd.cyclonedx+json', digest: sha256(doc), size: doc.length }],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: 1234 },
      annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
    });
    expect(a.digest).toBe(sha256(a.raw));
    expect(a.descriptor).toEqual({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: a.digest,
      size: a.raw.length,
      artifactType: 'application/vnd.cyclonedx+json',
      annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
    });
    expect(a.blob).toBe(doc);
  });

  it('no annotations: none in the manifest nor in its descriptor', () => {
    const a = artifactManifest({ artifactType: 'x/y', document: Buffer.from('{}'), subject });
    expect('annotations' in (JSON.parse(a.raw.toString()) as object)).toBe(false);
    expect(a.descriptor.annotations).toBeUndefined();
  });
});

describe('the referrers tag schema', () => {
  it('tag <alg>-<hex> for a digest; a non-digest is refused', () => {
    expect(fallbackTag(subject.digest)).toBe(`sha256-${'ab'.repeat(32)}`);
    expect(() => fallbackTag('latest')).toThrow(/invalid digest/);
  });

  it('merge: a new index when there was none; appended after existing entries; same digest replaced', () => {
    const d = (n: string, t = 'a/b') => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${n.repeat(64)}`,
      size: 10,
      artifactType: t,
    });
    const first = mergeReferrersIndex(undefined, d('1'));
    expect(first).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [d('1')],
    });
    const sig = { ...d('2', 'application/vnd.dev.cosign.artifact.sig.v1+json'), annotations: { k: 'v' } };
    const second = mergeReferrersIndex({ ...first, manifests: [sig], annotations: { keep: 'me' } }, d('1'));
    expect(second.manifests).toEqual([sig, d('1')]);
    expect(second.annotations).toEqual({ keep: 'me' });
    const again = mergeReferrersIndex(second, { ...d('1'), size: 11 });
    expect(again.manifests.map((m) => m.size)).toEqual([10, 11]);
  });
});

/**
 * MOCK registry: the local docker-registry (2.8) has no referrers API, so the API path is shown against a
 * minimal in-memory mock that answers a subject manifest PUT with OCI-Subject and serves
 * GET /v2/<name>/referrers/<digest>. The tag-schema path runs against the real registry in
 * test/e2e/attach.test.ts.
 */
describe('referrers API path (against a MOCK registry endpoint)', () => {
  let server: Server;
  let host: string;
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, { body: Buffer; type: string }>();
  const requests: string[] = [];

  const body = async (req: IncomingMessage): Promise<Buffer> => {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    return Buffer.concat(parts);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', `http://${host}`);
    requests.push(`${req.method} ${url.pathname}`);
    const data = await body(req);
    let m: RegExpMatchArray | null;
    if (url.pathname === '/v2/') return void res.writeHead(200).end('{}');
    if ((m = url.pathname.match(/^\/v2\/app\/blobs\/(sha256:[a-f0-9]+)$/)))
      return void res.writeHead(blobs.has(m[1] ?? '') ? 200 : 404).end();
    if (req.method === 'POST' && url.pathname === '/v2/app/blobs/uploads/')
      return void res.writeHead(202, { location: '/v2/app/blobs/uploads/u1' }).end();
    if (req.method === 'PATCH') {
      blobs.set('pending', data);
      return void res.writeHead(202, { location: '/v2/app/blobs/uploads/u1' }).end();
    }
    if (req.method === 'PUT' && url.pathname === '/v2/app/blobs/uploads/u1') {
      blobs.set(
        url.searchParams.get('digest') ?? '',
        Buffer.concat([blobs.get('pending') ?? Buffer.alloc(0), data]),
      );
      return void res.writeHead(201).end();
    }
    if (req.method === 'PUT' && (m = url.pathname.match(/^\/v2\/app\/manifests\/(.+)$/))) {
      manifests.set(m[1] ?? '', { body: data, type: req.headers['content-type'] ?? '' });
      const parsed = JSON.parse(data.toString()) as { subject?: { digest: string } };
      const headers: Record<string, string> = { 'docker-content-digest': sha256(data) };
      if (parsed.subject) headers['oci-subject'] = parsed.subject.digest;
      return void res.writeHead(201, headers).end();
    }
    if (req.method === 'GET' && (m = url.pathname.match(/^\/v2\/app\/referrers\/(sha256:[a-f0-9]+)$/))) {
      const list = [...manifests.entries()].flatMap(([digest, { body: b, type }]) => {
        const p = JSON.parse(b.toString()) as { subject?: { digest: string }; artifactType?: string };
        return p.subject?.digest === m?.[1]
          ? [{ mediaType: type, digest, size: b.length, artifactType: p.artifactType }]
          : [];
      });
      const index = {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: list,
      };
      return void res
        .writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' })
        .end(JSON.stringify(index));
    }
    res.writeHead(404).end();
  };

  beforeAll(async () => {
    server = createServer((req, res) => void handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    host = `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('OCI-Subject in the PUT answer: no fallback tag written, the referrer found through the API', async () => {
    const client = new RegistryClient({ retries: 0 });
    const repo = { registry: host, repository: 'app' };
    const doc = Buffer.from('{"@context":"https://openvex.dev/ns/v0.2.0"}\n');
    const a = artifactManifest({ artifactType: 'application/vnd.openvex+json', document: doc, subject });
    const pushed = await pushReferrer(client, repo, a, subject.digest);
    expect(pushed).toEqual({
      digest: a.digest,
      artifactType: 'application/vnd.openvex+json',
      subject: subject.digest,
      via: 'referrers-api',
    });
    expect(blobs.get(sha256(doc))).toEqual(doc);
    expect(blobs.get(EMPTY_DESCRIPTOR.digest)?.toString()).toBe('{}');
    expect([...manifests.keys()]).toEqual([a.digest]);
    expect(requests.some((r) => r.includes('sha256-'))).toBe(false);
    const listed = await listReferrers(client, repo, subject.digest);
    expect(listed.via).toBe('referrers-api');
    expect(listed.manifests).toEqual([
      expect.objectContaining({ digest: a.digest, artifactType: 'application/vnd.openvex+json' }),
    ]);
    await client.close();
  });
});
