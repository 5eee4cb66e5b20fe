import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A STUB of the endoflife.date API (the public API is not reachable from this machine): a real HTTP
 * server on 127.0.0.1 whose answers a test scripts per request. It records every request it sees.
 */
export type EolStubReply =
  | { status: number; body?: string; contentType?: string; /** answer this much later */ delayMs?: number }
  | 'hang';

export interface EolStubRequest {
  method: string;
  path: string;
  userAgent: string | undefined;
}

export interface EolApiStub {
  /** Base URL to pass as `apiUrl` (`http://127.0.0.1:<port>/api/v1/products`). */
  apiUrl: string;
  requests: EolStubRequest[];
  stop(): Promise<void>;
}

/** `reply(path, n)` is called for the n-th request (0-based). */
export async function startEolApiStub(reply: (path: string, n: number) => EolStubReply): Promise<EolApiStub> {
  const requests: EolStubRequest[] = [];
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    requests.push({ method: req.method ?? '', path, userAgent: req.headers['user-agent'] });
    const r = reply(path, requests.length - 1);
    if (r === 'hang') {
      hanging.add(res);
      return;
    }
    const answer = (): void => {
      res.writeHead(r.status, { 'content-type': r.contentType ?? 'application/json' });
      res.end(r.body ?? '');
    };
    if (r.delayMs) setTimeout(answer, r.delayMs);
    else answer();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}/api/v1/products`,
    requests,
    stop: async () => {
      for (const res of hanging) res.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A release answer shaped like the API's `GET /products/<p>/releases/<r>`. */
export function releaseBody(
  name: string,
  r: { isEol: boolean; eolFrom: string | null; isMaintained: boolean },
): string {
  return JSON.stringify({
    schema_version: '1.2.0',
    generated_at: '2024-05-01T00:00:00+00:00',
    result: { name, label: name, releaseDate: '2017-06-17', isLts: false, ...r },
  });
}

/** A 127.0.0.1 URL nobody listens on (a port bound and released again). */
export async function unreachableApiUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/api/v1/products`;
}
