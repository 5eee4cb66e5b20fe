/**
 * Calls on a BuildKit daemon over one gRPC channel (@grpc/grpc-js, generic client): unary, server-streaming
 * and bidi calls by method path, messages encoded with the codecs of proto.ts.
 */
import * as grpc from '@grpc/grpc-js';
import { codec, type Codec } from './proto.js';

export const CHANNEL_OPTIONS = {
  // package databases and OCI exports can be large; BuildKit's own client lifts the defaults too
  'grpc.max_receive_message_length': 128 * 2 ** 20,
  'grpc.max_send_message_length': 128 * 2 ** 20,
};

export interface Method<Req, Res> {
  path: string;
  req: Codec<Req>;
  res: Codec<Res>;
}

export function method<Req, Res>(path: string, req: string, res: string): Method<Req, Res> {
  return { path, req: codec<Req>(req), res: codec<Res>(res) };
}

export class Rpc {
  constructor(readonly client: grpc.Client) {}

  unary<Req, Res>(m: Method<Req, Res>, value: Req, meta?: grpc.Metadata, signal?: AbortSignal): Promise<Res> {
    return new Promise((resolve, reject) => {
      const cancel = (): void => call.cancel();
      const call = this.client.makeUnaryRequest(
        m.path,
        (v: Req) => m.req.encode(v),
        (b: Buffer) => m.res.decode(b),
        value,
        meta ?? new grpc.Metadata(),
        {},
        (err, res) => {
          signal?.removeEventListener('abort', cancel);
          if (err || res === undefined) reject(err ?? new Error('empty reply'));
          else resolve(res);
        },
      );
      if (signal?.aborted) cancel();
      else signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  serverStream<Req, Res>(
    m: Method<Req, Res>,
    value: Req,
    meta?: grpc.Metadata,
  ): grpc.ClientReadableStream<Res> {
    return this.client.makeServerStreamRequest(
      m.path,
      (v: Req) => m.req.encode(v),
      (b: Buffer) => m.res.decode(b),
      value,
      meta ?? new grpc.Metadata(),
    );
  }

  bidi<Req, Res>(m: Method<Req, Res>, meta?: grpc.Metadata): grpc.ClientDuplexStream<Req, Res> {
    return this.client.makeBidiStreamRequest(
      m.path,
      (v: Req) => m.req.encode(v),
      (b: Buffer) => m.res.decode(b),
      meta ?? new grpc.Metadata(),
    );
  }

  close(): void {
    this.client.close();
  }
}

/** The error a gRPC call failed with, as one line (BuildKit puts the cause in `details`). */
export function grpcMessage(err: unknown): string {
  const e = err as Partial<grpc.ServiceError> & { message?: string };
  const line = (e.details || e.message || String(err)).split('\n')[0] ?? '';
  // grpc-js wraps a failed connect: keep the system error ("connect ENOENT /run/buildkit/buildkitd.sock")
  return line
    .replace(/^No connection established\. Last error: (Error: )?/, '')
    .replace(/\.? ?Resolution note:.*$/, '')
    .trim();
}

export function grpcCode(err: unknown): number | undefined {
  return (err as Partial<grpc.ServiceError>).code;
}
