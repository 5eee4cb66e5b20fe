import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCountingProxy, type CountingProxy } from './proxy.js';

/** The proxy in front of a small HTTP server on loopback that behaves like a registry's upload endpoint. */
describe('startCountingProxy', () => {
  let upstream: Server;
  let proxy: CountingProxy;
  const blob = Buffer.alloc(100_000, 7);

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      let body = 0;
      req.on('data', (d: Buffer) => (body += d.length));
      req.on('end', () => {
        if (req.method === 'GET' && req.url === '/v2/repo/blobs/broken') {
          // headers and part of the body, then the connection dies
          res.writeHead(200, { 'content-length': '1000' });
          res.write(Buffer.alloc(100), () => res.destroy());
        } else if (req.method === 'GET' && req.url === '/v2/repo/blobs/x') {
          res.writeHead(200, { 'content-length': String(blob.length) });
          res.end(blob);
        } else if (req.method === 'HEAD') {
          res.writeHead(200, { 'content-length': String(blob.length) });
          res.end();
        } else if (req.method === 'POST') {
          // like the distribution registry: an absolute Location built from the Host header
          res.writeHead(202, { location: `http://${req.headers.host}/v2/repo/blobs/uploads/1` });
          res.end();
        } else {
          res.writeHead(201, { 'x-received': String(body) });
          res.end();
        }
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    proxy = await startCountingProxy(`127.0.0.1:${(upstream.address() as AddressInfo).port}`);
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise((r) => upstream.close(r));
  });

  it('counts GET response bodies as pulled and PUT/PATCH/POST request bodies as pushed', async () => {
    proxy.reset();
    const got = await fetch(`http://${proxy.host}/v2/repo/blobs/x`);
    expect(Buffer.from(await got.arrayBuffer()).equals(blob)).toBe(true);
    const head = await fetch(`http://${proxy.host}/v2/repo/blobs/x`, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(blob.length));
    const post = await fetch(`http://${proxy.host}/v2/repo/blobs/uploads/`, { method: 'POST' });
    expect(post.headers.get('location')).toBe(`http://${proxy.host}/v2/repo/blobs/uploads/1`);
    const patch = await fetch(`http://${proxy.host}/v2/repo/blobs/uploads/1`, {
      method: 'PATCH',
      body: Buffer.alloc(3000),
    });
    expect(patch.headers.get('x-received')).toBe('3000');
    await fetch(`http://${proxy.host}/v2/repo/manifests/t`, { method: 'PUT', body: '{"a":1}' });
    expect(proxy.traffic()).toEqual({ pulled: blob.length, pushed: 3000 + 7, requests: 5 });
  });

  it('starts from zero after reset', async () => {
    proxy.reset();
    expect(proxy.traffic()).toEqual({ pulled: 0, pushed: 0, requests: 0 });
    await (await fetch(`http://${proxy.host}/v2/repo/blobs/x`)).arrayBuffer();
    expect(proxy.traffic().pulled).toBe(blob.length);
  });

  it('breaks the client connection when the upstream body breaks (never a clean short body)', async () => {
    const res = await fetch(`http://${proxy.host}/v2/repo/blobs/broken`);
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
  });

  it('answers 502 when the upstream is gone', async () => {
    const dead = await startCountingProxy('127.0.0.1:9');
    try {
      const res = await fetch(`http://${dead.host}/v2/`);
      expect(res.status).toBe(502);
      expect(await res.text()).toMatch(/^bench proxy: /);
    } finally {
      await dead.close();
    }
  });
});
