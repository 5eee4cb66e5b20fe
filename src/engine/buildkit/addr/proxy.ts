import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { CopaError } from '../../../errors.js';
import type { DockerEndpoint } from './docker-host.js';

/**
 * Stream-based BuildKit connections (a hijacked Docker socket, `buildctl dial-stdio` in a container or pod)
 * served to grpc-js as a private unix socket: a fresh temp dir (0700) holds the socket; every accepted
 * connection gets its own stream and the two are piped both ways. close() stops the server, ends every
 * stream (children get SIGTERM) and removes the dir.
 */

export interface StreamServer {
  /** the socket path grpc-js connects to */
  path: string;
  /** the last failure opening or running a stream, for messages */
  failure(): Error | undefined;
  close(): Promise<void>;
}

export type OpenStream = () => Promise<Duplex>;

export async function serveStreams(open: OpenStream): Promise<StreamServer> {
  const dir = await mkdtemp(join(tmpdir(), 'copa-bk-'));
  await chmod(dir, 0o700);
  const path = join(dir, 'bk.sock');
  const live = new Set<Duplex>();
  let last: Error | undefined;
  let closed = false;
  const fail = (e: unknown) => {
    last = e instanceof Error ? e : new Error(String(e));
  };
  const server: Server = createServer((sock: Socket) => {
    live.add(sock);
    sock.once('close', () => live.delete(sock));
    sock.on('error', () => sock.destroy());
    open().then(
      (stream) => {
        if (closed || sock.destroyed) {
          stream.destroy();
          return;
        }
        live.add(stream);
        const done = () => {
          live.delete(stream);
          sock.destroy();
          stream.destroy();
        };
        stream.on('error', (e) => {
          fail(e);
          done();
        });
        stream.once('close', done);
        sock.once('close', done);
        sock.pipe(stream);
        stream.pipe(sock);
      },
      (e: unknown) => {
        fail(e);
        sock.destroy();
      },
    );
  });
  try {
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(path, () => res());
    });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  let closing: Promise<void> | undefined;
  return {
    path,
    failure: () => last,
    close() {
      closing ??= (async () => {
        closed = true;
        const stopped = new Promise<void>((res) => server.close(() => res()));
        for (const s of live) s.destroy();
        await stopped;
        await rm(dir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}

const tail = (text: string): string => text.trim().split('\n').slice(-3).join(' | ');

/** A child's stdout (readable side) and stdin (writable side) as one stream; destroying it stops the child. */
class ChildDuplex extends Duplex {
  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    super();
    child.stdout.on('data', (d: Buffer) => {
      if (!this.push(d)) child.stdout.pause();
    });
    child.stdin.on('error', () => undefined); // EPIPE when the child is gone: its exit says why
  }
  override _read(): void {
    this.child.stdout.resume();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.child.stdin.destroyed) cb();
    else this.child.stdin.write(chunk, () => cb());
  }
  override _final(cb: (e?: Error | null) => void): void {
    this.child.stdin.end(() => cb());
  }
  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    cb(err);
  }
}

/**
 * `argv` (never a shell) with stdin/stdout as one stream; resolves once the process has started. Closing
 * the stream sends SIGTERM; a non-zero exit becomes the stream's error with the stderr tail.
 */
export function childStream(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Duplex> {
  const [cmd = '', ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-4000);
    });
    child.once('error', (e: NodeJS.ErrnoException) => {
      const what = e.code === 'ENOENT' ? `${cmd} not found on PATH` : `cannot run ${cmd}: ${e.message}`;
      reject(new CopaError('ENVIRONMENT', what, { cause: e }));
    });
    child.once('spawn', () => {
      const stream = new ChildDuplex(child);
      // 'close' (exit and stdio closed), so a failed child's error is known before its stream ends
      child.once('close', (code) => {
        if (stream.destroyed) return;
        if (code !== 0 && code !== null)
          stream.destroy(new Error(`${argv.join(' ')} exited ${code}: ${tail(stderr)}`));
        else stream.push(null);
      });
      resolve(stream);
    });
  });
}

function open(ep: DockerEndpoint): Socket {
  if (ep.kind === 'unix') return netConnect(ep.path);
  if (!ep.tls) return netConnect(ep.port, ep.host);
  return tlsConnect({ host: ep.host, port: ep.port, servername: ep.host, ...ep.tls });
}

const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * The Docker daemon's embedded BuildKit: `POST /grpc` with `Connection: Upgrade` / `Upgrade: h2c` (as
 * moby's client DialHijack sends it); after `101 Switching Protocols` the socket speaks HTTP/2 gRPC.
 */
export function hijack(ep: DockerEndpoint, timeoutMs = 15_000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = open(ep);
    let buf = Buffer.alloc(0);
    const fail = (why: string, cause?: unknown) => {
      sock.destroy();
      reject(
        new CopaError('NETWORK', `Docker daemon at ${ep.display}: ${why}`, {
          hint: 'is the Docker daemon running, and is DOCKER_HOST / the docker context right?',
          ...(cause === undefined ? {} : { cause }),
        }),
      );
    };
    sock.setTimeout(timeoutMs, () => fail(`no answer to POST /grpc within ${timeoutMs / 1000}s`));
    sock.once('error', (e) => fail(e.message, e));
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf(HEADER_END);
      if (end < 0) {
        if (buf.length > 64 * 1024) fail('oversized HTTP response header');
        return;
      }
      sock.off('data', onData);
      sock.pause();
      const head = buf.subarray(0, end).toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1];
      if (status !== '101') {
        const body = buf
          .subarray(end + 4)
          .toString('utf8')
          .trim()
          .slice(0, 300);
        fail(`POST /grpc answered ${head.split('\r\n')[0] ?? ''}${body ? `: ${body}` : ''}`);
        return;
      }
      sock.setTimeout(0);
      sock.removeAllListeners('error');
      const rest = buf.subarray(end + 4);
      if (rest.length) sock.unshift(rest);
      resolve(sock);
    };
    sock.on('data', onData);
    const host = ep.kind === 'unix' ? 'docker' : ep.host;
    sock.write(
      `POST /grpc HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: copa-ts\r\nContent-Length: 0\r\n` +
        `Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n`,
    );
  });
}
