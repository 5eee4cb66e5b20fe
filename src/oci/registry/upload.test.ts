import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CopaError } from '../../errors.js';
import { RegistryApi } from './api.js';
import { Authenticator } from './auth.js';
import { baseUrl } from './hosts.js';
import { Transport } from './transport.js';
import { uploadBlob } from './upload.js';

/**
 * Upload sessions that expire. A stand-in registry (node:http on loopback; the real one is used in
 * test/integration/registry-faults-more.test.ts) answers POST with a session and forgets sessions listed
 * in `expire` with 404 BLOB_UPLOAD_UNKNOWN, as distribution does after its upload purge.
 */
const data = Buffer.from('layer bytes');
const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;

let server: Server;
let host: string;
let log: string[];
let expire: { patch: number; put: number };

beforeAll(async () => {
  let session = 0;
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const path = (req.url ?? '').replace(/\?.*$/, '');
      log.push(`${req.method} ${path}`);
      const unknown = (): void => {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"blob upload unknown"}]}');
      };
      if (req.method === 'GET') res.writeHead(200).end('{}');
      else if (req.method === 'POST') {
        res.writeHead(202, { location: `/v2/a/blobs/uploads/s${++session}`, 'content-length': '0' }).end();
      } else if (req.method === 'PATCH') {
        if (expire.patch-- > 0) unknown();
        else res.writeHead(202, { location: path, 'content-length': '0' }).end();
      } else if (req.method === 'PUT') {
        if (expire.put-- > 0) unknown();
        else res.writeHead(201, { 'content-length': '0' }).end();
      } else res.writeHead(405).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

beforeEach(() => {
  log = [];
});

async function upload(): Promise<void> {
  const transport = new Transport({ retries: 2, retryBaseMs: 1 });
  const auth = new Authenticator({ transport, baseUrl: (r) => baseUrl(r, []) });
  const api = new RegistryApi(transport, auth, []);
  try {
    await uploadBlob(
      api,
      { registry: host, repository: 'a' },
      { digest, size: data.length, open: () => Promise.resolve(Readable.from([data])) },
      { retries: 2, retryBaseMs: 1, redact: (s) => s },
    );
  } finally {
    await transport.close();
  }
}

describe('uploadBlob and expired upload sessions', () => {
  it('starts a new session when the PATCH finds the session gone', async () => {
    expire = { patch: 1, put: 0 };
    await upload();
    expect(log.filter((l) => !l.startsWith('GET'))).toEqual([
      'POST /v2/a/blobs/uploads/',
      'PATCH /v2/a/blobs/uploads/s1',
      'POST /v2/a/blobs/uploads/',
      expect.stringMatching(/^PATCH \/v2\/a\/blobs\/uploads\/s\d+$/),
      expect.stringMatching(/^PUT \/v2\/a\/blobs\/uploads\/s\d+$/),
    ]);
  });

  it('starts a new session when the commit PUT finds the session gone', async () => {
    expire = { patch: 0, put: 1 };
    await upload();
    expect(log.filter((l) => l.startsWith('POST'))).toHaveLength(2);
    expect(log.filter((l) => l.startsWith('PUT'))).toHaveLength(2);
  });

  it('fails with one REGISTRY line when every session expires', async () => {
    expire = { patch: 100, put: 0 };
    const err = await upload().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopaError);
    expect((err as CopaError).code).toBe('REGISTRY');
    expect((err as CopaError).message).toContain('no longer knows the upload session');
    expect(log.filter((l) => l.startsWith('PATCH'))).toHaveLength(3);
  });
});
