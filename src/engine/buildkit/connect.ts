/**
 * The heavy half of the BuildKit engine (gRPC, the protocol, the session), loaded by ./index.ts only when a
 * run uses the engine: finding and checking a daemon, opening an image root on it.
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CopaError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { nativeZstd } from '../../layers/decompress.js';
import { DockerConfigCredentials } from '../../oci/registry/credentials.js';
import type { ImageRoot, ImageRootOptions } from '../types.js';
import { autoCandidates, dial, type Dialed, type TlsOptions } from './addr/index.js';
import { control } from './api.js';
import { Build } from './build.js';
import { BuildkitRoot } from './root.js';
import { CHANNEL_OPTIONS, grpcMessage, Rpc } from './rpc.js';
import { Session } from './session.js';

export interface BuildkitOptions {
  /** --addr; empty: Copa's auto-detection (docker, buildx, the default socket) */
  addr?: string | undefined;
  tls?: TlsOptions | undefined;
}

const NEEDED_CAPS = ['mergeop', 'diffop'];

/**
 * How the daemon sends the diff back: zstd where this Node decompresses it natively (>= 22.15), else
 * uncompressed — a JS zstd decoder over ~80 MB costs more than the bytes on the session stream.
 */
const exportCompression = (): string => (nativeZstd() ? 'zstd' : 'uncompressed');
const DOC_HINT =
  'start a BuildKit daemon (buildkitd) and pass its address with --addr unix:///PATH/buildkitd.sock';

export interface Connection {
  dialed: Dialed;
  rpc: Rpc;
}

/** connect to one address and check it can run a patch: reachable, MergeOp and DiffOp enabled */
async function connect(addr: string, tls: TlsOptions | undefined, logger: Logger): Promise<Connection> {
  const dialed = await dial(addr, tls ? { tls } : {});
  const rpc = new Rpc(
    new grpc.Client(dialed.target, dialed.credentials, {
      ...CHANNEL_OPTIONS,
      ...(dialed.channelOptions ?? {}),
    }),
  );
  try {
    const workers = await rpc.unary(control.listWorkers, {}, undefined, AbortSignal.timeout(20_000));
    if (workers.record.length === 0) throw new Error('the daemon has no workers');
    const session = new Session({ credentials: new DockerConfigCredentials({ logger }) });
    session.attach(rpc);
    const build = new Build(rpc, session, [], logger);
    try {
      const caps = await build.caps();
      const missing = NEEDED_CAPS.filter((id) => !caps.find((c) => c.ID === id && c.Enabled));
      if (missing.length > 0) {
        throw new CopaError(
          'ENGINE',
          `the BuildKit at ${dialed.display} has ${missing.join(' and ')} disabled (${missing.length > 1 ? 'they are' : 'it is'} needed to produce one patch layer)`,
          {
            hint: "enable Docker's containerd image store, or run a BuildKit daemon (buildkitd, docker buildx create) and pass --addr",
          },
        );
      }
    } finally {
      await build.abort('copa: capability check');
      session.close();
    }
    return { dialed, rpc };
  } catch (e) {
    rpc.close();
    await dialed.close();
    if (e instanceof CopaError) throw e;
    const why = dialed.failure?.()?.message ?? grpcMessage(e);
    throw new CopaError('ENGINE', `cannot reach BuildKit at ${dialed.display}: ${why}`, {
      hint: /EACCES/.test(why)
        ? 'this user may not use that socket: run with sudo, or add the user to the group that owns it'
        : addr.startsWith('ssh://')
          ? 'check that `ssh HOST buildctl --addr unix://SOCKET debug workers` works: a key login, buildctl on the PATH there, the socket path'
          : DOC_HINT,
    });
  }
}

/** the first candidate address (--addr, else Copa's auto-detection) that answers and can do the work */
export async function firstConnection(opts: BuildkitOptions, logger: Logger): Promise<Connection> {
  const candidates = opts.addr ? [opts.addr] : await autoCandidates();
  const errors: string[] = [];
  for (const addr of candidates) {
    try {
      const conn = await connect(addr, opts.tls, logger);
      logger.debug(`BuildKit engine: ${conn.dialed.display}`);
      return conn;
    } catch (e) {
      if (opts.addr) throw e;
      errors.push(`${addr}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  throw new CopaError(
    'ENGINE',
    candidates.length === 0
      ? 'no BuildKit daemon found (no docker daemon, no buildx builder, no /run/buildkit/buildkitd.sock)'
      : `no usable BuildKit daemon found: ${errors.join('; ')}`,
    { hint: DOC_HINT },
  );
}

export async function closeConnection(conn: Connection): Promise<void> {
  conn.rpc.close();
  await conn.dialed.close();
}

/** a build on the daemon for one image root; the diff comes back over the session as an OCI layout tar */
export function openRoot({ rpc }: Connection, root: ImageRootOptions): Promise<ImageRoot> {
  if (!root.image) throw new CopaError('INTERNAL', 'the BuildKit engine needs the image reference');
  const exportFile = join(root.workDir, 'export.tar');
  const session = new Session({
    credentials: new DockerConfigCredentials({ logger: root.logger }),
    outputFile: exportFile,
  });
  session.attach(rpc);
  const exporter = {
    Type: 'oci',
    Attrs: { 'oci-mediatypes': 'true', compression: exportCompression(), 'force-compression': 'true' },
  };
  const build = new Build(rpc, session, [exporter], root.logger, root.signal);
  return new BuildkitRoot(build, session, exportFile, root.image.platform, root, root.image.ref).init();
}
