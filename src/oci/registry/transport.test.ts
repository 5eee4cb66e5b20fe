import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopaError } from '../../errors.js';
import { isRetryableError } from './retry.js';
import { registryTimeoutMs, Transport } from './transport.js';

/** A loopback server that trickles a body forever (a stand-in for a registry past a deadline). */
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/busy') {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200);
    const t = setInterval(() => res.write('x'), 50);
    res.on('close', () => clearInterval(t));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('Transport with an abort signal', () => {
  it('ends a trickling body with the reason of the abort', async () => {
    const controller = new AbortController();
    const transport = new Transport({ signal: controller.signal });
    const res = await transport.send({ method: 'GET', url: `${url}/blob`, registry: 'r', what: 'test' });
    const deadline = new CopaError('TIMEOUT', 'patch exceeded timeout 1s');
    setTimeout(() => controller.abort(deadline), 200);
    const started = Date.now();
    const read = async (): Promise<void> => {
      for await (const chunk of res.body) void chunk;
    };
    const err = await read().catch((e: unknown) => e);
    expect(err).toBe(deadline);
    expect(Date.now() - started).toBeLessThan(2000);
    await transport.close();
  });

  it('stops waiting between retries when aborted', async () => {
    const controller = new AbortController();
    const transport = new Transport({ signal: controller.signal, retries: 4, retryBaseMs: 10_000 });
    const deadline = new CopaError('TIMEOUT', 'patch exceeded timeout 1s');
    setTimeout(() => controller.abort(deadline), 200);
    const started = Date.now();
    const err = await transport
      .send({ method: 'GET', url: `${url}/busy`, registry: 'r', what: 'test' })
      .catch((e: unknown) => e);
    expect(err).toBe(deadline);
    expect(Date.now() - started).toBeLessThan(2000);
    await transport.close();
  });
});

describe('Transport with a per-request timeout (a stalled registry)', () => {
  /** A loopback server that leaves the first `stallFirst` requests without an answer, then answers. */
  async function stallingServer(
    stallFirst: number,
    stallBody = false,
  ): Promise<{ url: string; seen: () => number; close: () => Promise<void> }> {
    let n = 0;
    const s = createServer((req, res) => {
      n++;
      if (n <= stallFirst) {
        if (stallBody) {
          res.writeHead(200, { 'content-length': '10' });
          res.write('12345'); // half the body, then silence
        }
        return; // no headers: the client waits
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
      seen: () => n,
      close: async () => {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      },
    };
  }

  it('gives up on an attempt whose headers do not come within the timeout, and retries it', async () => {
    const srv = await stallingServer(1);
    const transport = new Transport({ timeoutMs: 300, retryBaseMs: 1 });
    const started = Date.now();
    const res = await transport.send({ method: 'GET', url: `${srv.url}/v2/`, registry: 'r', what: 'test' });
    expect(res.status).toBe(200);
    expect(await res.body.text()).toBe('ok');
    expect(srv.seen()).toBe(2);
    expect(Date.now() - started).toBeLessThan(5000);
    await transport.close();
    await srv.close();
  });

  it('fails as NETWORK naming the timeout when every attempt stalls', async () => {
    const srv = await stallingServer(100);
    const transport = new Transport({ timeoutMs: 200, retries: 2, retryBaseMs: 1 });
    const err = await transport
      .send({ method: 'GET', url: `${srv.url}/v2/`, registry: '127.0.0.1:1', what: 'test' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopaError);
    expect((err as CopaError).code).toBe('NETWORK');
    expect((err as CopaError).message).toMatch(/timeout/i);
    expect(srv.seen()).toBe(3);
    await transport.close();
    await srv.close();
  });

  it('ends a body that stops arriving with a retryable body-timeout error', async () => {
    const srv = await stallingServer(1, true);
    const transport = new Transport({ timeoutMs: 300 });
    const res = await transport.send({ method: 'GET', url: `${srv.url}/blob`, registry: 'r', what: 'test' });
    const err = await res.body.text().catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('UND_ERR_BODY_TIMEOUT');
    expect(isRetryableError(err)).toBe(true);
    await transport.close();
    await srv.close();
  });
});

describe('registryTimeoutMs', () => {
  it('reads COPA_REGISTRY_TIMEOUT in seconds, 60 by default, and refuses nonsense with a USAGE error', () => {
    expect(registryTimeoutMs({})).toBe(60_000);
    expect(registryTimeoutMs({ COPA_REGISTRY_TIMEOUT: '2.5' })).toBe(2500);
    for (const bad of ['0', '-1', 'soon']) {
      const err = (() => {
        try {
          return registryTimeoutMs({ COPA_REGISTRY_TIMEOUT: bad });
        } catch (e) {
          return e;
        }
      })();
      expect((err as CopaError).code).toBe('USAGE');
    }
  });
});
