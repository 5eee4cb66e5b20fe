import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopaError } from '../../errors.js';
import { Transport } from './transport.js';

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
