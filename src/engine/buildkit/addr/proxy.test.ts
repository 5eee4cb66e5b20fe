import { mkdtemp, rm, stat } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { childStream, hijack, serveStreams } from './proxy.js';

let dir = '';
const servers: Server[] = [];
const accepted: Socket[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'copa-proxy-test-'));
});
afterEach(async () => {
  for (const c of accepted.splice(0)) c.destroy();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  await rm(dir, { recursive: true, force: true });
});

function readN(sock: Socket, n: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const on = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= n) {
        sock.off('data', on);
        resolve(got.toString());
      }
    };
    sock.on('data', on);
    sock.once('error', reject);
    sock.resume(); // hijack() hands the socket over paused
  });
}

/** A fake Docker daemon: answers POST /grpc with `answer`, then echoes. */
async function fakeDocker(answer: string | null): Promise<{ path: string; requests: string[] }> {
  const path = join(dir, 'docker.sock');
  const requests: string[] = [];
  const server = createServer((sock) => {
    accepted.push(sock);
    let head = '';
    const on = (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      sock.off('data', on);
      requests.push(head);
      if (answer === null) return;
      sock.write(answer);
      sock.on('data', (x: Buffer) => sock.write(x));
    };
    sock.on('data', on);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(path, r));
  return { path, requests };
}

describe('hijack', () => {
  it('sends POST /grpc with the h2c upgrade and hands over the socket after 101, early bytes kept', async () => {
    const d = await fakeDocker(
      'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nSETTINGS',
    );
    const sock = await hijack({ kind: 'unix', path: d.path, display: `unix://${d.path}` });
    expect(await readN(sock, 8)).toBe('SETTINGS');
    sock.write('ping');
    expect(await readN(sock, 4)).toBe('ping');
    sock.destroy();
    const req = d.requests[0] ?? '';
    expect(req.startsWith('POST /grpc HTTP/1.1\r\n')).toBe(true);
    expect(req).toMatch(/\r\nConnection: Upgrade\r\n/);
    expect(req).toMatch(/\r\nUpgrade: h2c\r\n/);
  });

  it('another answer, silence, or no daemon: a NETWORK error naming the daemon', async () => {
    const d = await fakeDocker('HTTP/1.1 404 Not Found\r\nContent-Length: 18\r\n\r\npage not found\n');
    const ep = { kind: 'unix', path: d.path, display: `unix://${d.path}` } as const;
    await expect(hijack(ep)).rejects.toThrow(/answered HTTP\/1.1 404 Not Found: page not found/);
    await rm(d.path);
    servers.splice(0).forEach((s) => s.close());
    const quiet = await fakeDocker(null);
    await expect(hijack({ ...ep, path: quiet.path }, 200)).rejects.toThrow(/no answer to POST \/grpc/);
    await expect(hijack({ ...ep, path: join(dir, 'none.sock') })).rejects.toMatchObject({ code: 'NETWORK' });
  });
});

describe('serveStreams', () => {
  it('a private 0700 dir, one fresh stream per connection, close() removes it and is idempotent', async () => {
    let opened = 0;
    const srv = await serveStreams(() => {
      opened++;
      const echo = new PassThrough();
      return Promise.resolve(echo);
    });
    expect((await stat(dirname(srv.path))).mode & 0o777).toBe(0o700);
    for (const word of ['one', 'two']) {
      const c = connect(srv.path);
      c.write(word);
      expect(await readN(c, word.length)).toBe(word);
      c.destroy();
    }
    expect(opened).toBe(2);
    const held = connect(srv.path);
    await readN((held.write('x'), held), 1);
    const gone = new Promise((r) => held.once('close', r));
    await Promise.all([srv.close(), srv.close()]);
    await gone;
    await expect(stat(dirname(srv.path))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a stream that cannot open drops the connection and is kept as failure()', async () => {
    const srv = await serveStreams(() => Promise.reject(new Error('no daemon')));
    const c = connect(srv.path);
    await new Promise((r) => c.once('close', r));
    expect(srv.failure()?.message).toBe('no daemon');
    await srv.close();
  });
});

describe('childStream', () => {
  it('pipes through the process and stops it when the stream closes', async () => {
    const s = await childStream(['cat'], process.env);
    const out = new Promise<string>((r) => s.once('data', (d: Buffer) => r(d.toString())));
    s.write('hello');
    expect(await out).toBe('hello');
    const closed = new Promise((r) => s.once('close', r));
    s.destroy();
    await closed;
  });

  it('a non-zero exit is the stream error with the stderr tail; a missing tool is ENVIRONMENT', async () => {
    const s = await childStream(
      ['sh', '-c', 'echo "Error: no such container: bk" >&2; exit 125'],
      process.env,
    );
    const err = await new Promise<Error>((r) => s.once('error', r));
    expect(err.message).toMatch(/exited 125: Error: no such container: bk/);
    await expect(childStream(['copa-no-such-tool'], process.env)).rejects.toMatchObject({
      code: 'ENVIRONMENT',
      message: 'copa-no-such-tool not found on PATH',
    });
  });
});
