/**
 * The client side of a BuildKit session: the daemon calls back into us over the Control.Session stream
 * (HTTP/2 tunnelled through BytesMessage frames). We serve grpc health, registry credentials (the same
 * docker config lookup the native engine uses) and FileSend (an exporter's output written to a file).
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import type { CredentialProvider } from '../../oci/registry/auth-config.js';
import { codec } from './proto.js';
import { control } from './api.js';
import type { Rpc } from './rpc.js';

interface Handler {
  path: string;
  req: string;
  res: string;
  stream?: boolean;
  fn: grpc.UntypedHandleCall;
}

function service(handlers: Handler[]): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const h of handlers) {
    const req = codec<unknown>(h.req);
    const res = codec<unknown>(h.res);
    def[h.path] = {
      path: h.path,
      requestStream: h.stream ?? false,
      responseStream: h.stream ?? false,
      requestSerialize: (v: unknown) => req.encode(v),
      requestDeserialize: (b: Buffer) => req.decode(b),
      responseSerialize: (v: unknown) => res.encode(v),
      responseDeserialize: (b: Buffer) => res.decode(b),
      originalName: h.path,
    };
  }
  return def;
}

const unimplemented = (_call: unknown, cb: grpc.sendUnaryData<unknown>): void =>
  cb({ code: grpc.status.UNIMPLEMENTED, details: 'not provided by this client' });

export interface SessionOptions {
  credentials: CredentialProvider;
  /** where FileSend (an exporter's tar stream) is written */
  outputFile?: string;
}

export class Session {
  readonly id = randomBytes(16).toString('hex');
  private readonly server = new grpc.Server();
  private call: grpc.ClientDuplexStream<{ data: Buffer }, { data: Buffer }> | undefined;
  /** resolves when FileSend has written the whole output */
  private outputDone: Promise<void> = Promise.resolve();
  private resolveOutput: (() => void) | undefined;
  private rejectOutput: ((e: Error) => void) | undefined;

  constructor(private readonly opts: SessionOptions) {
    if (opts.outputFile) {
      this.outputDone = new Promise((resolve, reject) => {
        this.resolveOutput = resolve;
        this.rejectOutput = reject;
      });
      this.outputDone.catch(() => undefined);
    }
    const handlers: Handler[] = [
      {
        path: '/grpc.health.v1.Health/Check',
        req: 'grpc.health.v1.HealthCheckRequest',
        res: 'grpc.health.v1.HealthCheckResponse',
        fn: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { status: 1 }),
      },
      {
        path: '/moby.filesync.v1.Auth/Credentials',
        req: 'moby.filesync.v1.CredentialsRequest',
        res: 'moby.filesync.v1.CredentialsResponse',
        fn: (call: grpc.ServerUnaryCall<{ Host: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
          this.credentials(call.request.Host).then(
            (c) => cb(null, c),
            () => cb(null, {}),
          );
        },
      },
      {
        path: '/moby.filesync.v1.Auth/FetchToken',
        req: 'moby.filesync.v1.FetchTokenRequest',
        res: 'moby.filesync.v1.FetchTokenResponse',
        fn: unimplemented,
      },
      {
        path: '/moby.filesync.v1.Auth/GetTokenAuthority',
        req: 'moby.filesync.v1.GetTokenAuthorityRequest',
        res: 'moby.filesync.v1.GetTokenAuthorityResponse',
        fn: unimplemented,
      },
    ];
    if (opts.outputFile) {
      handlers.push({
        path: '/moby.filesync.v1.FileSend/DiffCopy',
        req: 'moby.filesync.v1.BytesMessage',
        res: 'moby.filesync.v1.BytesMessage',
        stream: true,
        fn: (call: grpc.ServerDuplexStream<{ data: Buffer }, unknown>) => this.receive(call),
      });
    }
    for (const h of handlers) {
      this.server.addService(service([h]), { [h.path]: h.fn });
    }
    this.methods = handlers.map((h) => h.path);
  }

  private readonly methods: string[];

  private async credentials(host: string): Promise<{ Username: string; Secret: string }> {
    const c = await this.opts.credentials.get(host === 'registry-1.docker.io' ? 'docker.io' : host);
    if (!c) return { Username: '', Secret: '' };
    if (c.identityToken) return { Username: '', Secret: c.identityToken };
    return { Username: c.username ?? '', Secret: c.password ?? '' };
  }

  private receive(call: grpc.ServerDuplexStream<{ data: Buffer }, unknown>): void {
    const out = createWriteStream(this.opts.outputFile ?? '/dev/null');
    call.on('data', (m: { data: Buffer }) => {
      if (!out.write(m.data)) {
        call.pause();
        out.once('drain', () => call.resume());
      }
    });
    call.on('end', () => {
      out.end(() => {
        call.end();
        this.resolveOutput?.();
      });
    });
    call.on('error', (e) => {
      out.destroy();
      this.rejectOutput?.(e);
    });
  }

  /** the exporter's output is complete on disk */
  output(): Promise<void> {
    return this.outputDone;
  }

  /** open the tunnel: the daemon's calls to us arrive over Control.Session */
  attach(rpc: Rpc): void {
    const meta = new grpc.Metadata();
    meta.set('x-docker-expose-session-uuid', this.id);
    meta.set('x-docker-expose-session-name', 'copa');
    meta.set('x-docker-expose-session-sharedkey', '');
    for (const m of this.methods) meta.add('x-docker-expose-session-grpc-method', m);
    const call = rpc.bidi(control.session, meta);
    this.call = call;
    const tunnel = new Duplex({
      read() {
        call.resume();
      },
      write(chunk: Buffer, _enc, done) {
        if (call.write({ data: chunk })) done();
        else call.once('drain', () => done());
      },
      final(done) {
        call.end();
        done();
      },
    });
    call.on('data', (m: { data: Buffer }) => {
      if (!tunnel.push(m.data)) call.pause();
    });
    call.on('end', () => tunnel.push(null));
    call.on('error', () => tunnel.destroy());
    tunnel.on('error', () => undefined);
    this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure()).injectConnection(tunnel);
  }

  close(): void {
    this.call?.cancel();
    this.server.forceShutdown();
  }
}
