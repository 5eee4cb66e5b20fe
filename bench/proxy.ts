import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';

/**
 * A counting reverse proxy on 127.0.0.1 in front of the registry: every contender talks to the registry
 * through it, so the bytes pulled and pushed are counted exactly, whatever the client. Counted are HTTP
 * body bytes (headers are not): response bodies of GET requests are "pulled", request bodies of PUT,
 * PATCH and POST requests are "pushed". The Host header is passed on unchanged, so the registry's upload
 * `Location` URLs point back at the proxy.
 */

export interface Traffic {
  /** response body bytes of GET requests (manifests, configs, blobs) */
  pulled: number;
  /** request body bytes of PUT/PATCH/POST requests (blob uploads, manifests) */
  pushed: number;
  requests: number;
}

export interface CountingProxy {
  /** host:port to give the clients */
  host: string;
  /** counts since the last reset */
  traffic(): Traffic;
  reset(): void;
  close(): Promise<void>;
}

const PUSH_METHODS = new Set(['PUT', 'PATCH', 'POST']);

export function emptyTraffic(): Traffic {
  return { pulled: 0, pushed: 0, requests: 0 };
}

/** Start the proxy for `target` (host:port of a plain-HTTP registry). */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const url = new URL(`http://${target}`);
  const agent = new Agent({ keepAlive: true });
  let counts = emptyTraffic();

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const method = req.method ?? 'GET';
    const tally = counts; // a reset during a request does not move its bytes into the next window
    tally.requests++;
    const upstream = request(
      { host: url.hostname, port: url.port, method, path: req.url, headers: req.headers, agent },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.statusMessage, up.rawHeaders);
        if (method === 'GET') up.on('data', (d: Buffer) => (tally.pulled += d.length));
        // a body broken upstream breaks the client's connection too (never a clean, short body)
        pipeline(up, res).catch(() => res.destroy());
      },
    );
    upstream.on('error', (e) => {
      if (res.headersSent) {
        res.destroy(e);
        return;
      }
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`bench proxy: ${e.message}`);
    });
    if (PUSH_METHODS.has(method)) req.on('data', (d: Buffer) => (tally.pushed += d.length));
    pipeline(req, upstream).catch((e: unknown) => upstream.destroy(e instanceof Error ? e : undefined));
  };

  const server = createServer(forward);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    traffic: () => ({ ...counts }),
    reset: () => {
      counts = emptyTraffic();
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
