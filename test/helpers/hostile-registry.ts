import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A registry that serves whatever bytes it is given — manifests a real registry refuses to store (huge,
 * deeply nested, a wrong media type, digests that do not match). Read-only: GET/HEAD of
 * `/v2/<name>/manifests/<ref>` and `/v2/<name>/blobs/<digest>`; anything else is 404 or 405.
 */
export interface HostileRegistry {
  host: string;
  /** serve `body` as the manifest `repo:ref` (also under its sha256 digest unless `digest` says otherwise) */
  manifest(repo: string, ref: string, body: Buffer | string, mediaType: string, digest?: string): string;
  /** serve `body` as blob `digest` (default: its real sha256) of `repo` */
  blob(repo: string, body: Buffer | string, digest?: string): string;
  /** requests seen, "METHOD path" */
  seen: string[];
  stop(): Promise<void>;
}

export const sha256 = (b: Buffer | string): string =>
  `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function startHostileRegistry(): Promise<HostileRegistry> {
  const files = new Map<string, { body: Buffer; type: string; digest: string }>();
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    if (req.url === '/v2/' || req.url === '/v2') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const f = files.get(req.url ?? '');
    if (f === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    res.writeHead(200, {
      'content-type': f.type,
      'content-length': f.body.length,
      'docker-content-digest': f.digest,
    });
    res.end(req.method === 'HEAD' ? undefined : f.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    seen,
    manifest(repo, ref, body, mediaType, digest) {
      const b = Buffer.from(body);
      const d = digest ?? sha256(b);
      const entry = { body: b, type: mediaType, digest: d };
      files.set(`/v2/${repo}/manifests/${ref}`, entry);
      files.set(`/v2/${repo}/manifests/${d}`, entry);
      return d;
    },
    blob(repo, body, digest) {
      const b = Buffer.from(body);
      const d = digest ?? sha256(b);
      files.set(`/v2/${repo}/blobs/${d}`, { body: b, type: 'application/octet-stream', digest: d });
      return d;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
