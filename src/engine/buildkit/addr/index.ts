import { credentials as grpcCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import { readFile, stat } from 'node:fs/promises';
import { CopaError } from '../../../errors.js';
import { BUILDX_CONTAINER_PREFIX, builderExists, buildxNode, currentBuilder } from './buildx.js';
import { resolveDockerHost } from './docker-host.js';
import { parseAddress, NAME_RE, type Address, type DockerHostSpec } from './parse.js';
import { childStream, hijack, serveStreams, type OpenStream } from './proxy.js';

/**
 * `--addr` -> something grpc-js can open (COPA-BEHAVIOUR §1.7). unix:// and tcp:// go straight to grpc-js;
 * every other scheme is a stream (hijacked Docker socket, `buildctl dial-stdio` in a container or pod)
 * served on a private unix socket until close().
 */

export { parseAddress, ACCEPTED, type Address } from './parse.js';

export interface TlsOptions {
  caCert?: string;
  cert?: string;
  key?: string;
  serverName?: string;
}

export interface Dialed {
  /** a grpc-js target: 'unix:/abs/path' or 'host:port' */
  target: string;
  /** TLS for tcp:// with tls options, else insecure */
  credentials: ChannelCredentials;
  channelOptions?: Record<string, string | number>;
  /** the address as the user wrote it, for messages */
  display: string;
  /** the last failure of a stream-based connection (child's stderr, Docker's answer), for messages */
  failure?(): Error | undefined;
  /** stop local proxies / child processes; idempotent */
  close(): Promise<void>;
}

export const DEFAULT_BUILDKIT_ADDR = 'unix:///run/buildkit/buildkitd.sock';

const hasTls = (t: TlsOptions | undefined): t is TlsOptions =>
  !!t && !!(t.caCert || t.cert || t.key || t.serverName);

async function readPem(flag: string, path: string | undefined): Promise<Buffer | null> {
  if (!path) return null;
  return readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new CopaError('USAGE', `cannot read ${flag} ${path}: ${e.code ?? e.message}`, { cause: e });
  });
}

/** grpc-js TLS credentials (+ server-name override) from buildctl-style --tlscacert/--tlscert/--tlskey. */
export async function tlsCredentials(
  tls: TlsOptions,
): Promise<{ credentials: ChannelCredentials; channelOptions?: Record<string, string> }> {
  if (!!tls.cert !== !!tls.key)
    throw new CopaError('USAGE', 'BuildKit TLS: --cert and --key must be given together');
  const [ca, cert, key] = await Promise.all([
    readPem('--cacert', tls.caCert),
    readPem('--cert', tls.cert),
    readPem('--key', tls.key),
  ]);
  const credentials = grpcCredentials.createSsl(ca, key, cert);
  const name = tls.serverName?.trim();
  return name
    ? {
        credentials,
        channelOptions: { 'grpc.ssl_target_name_override': name, 'grpc.default_authority': name },
      }
    : { credentials };
}

/** Serve `open` on a private socket and describe it as a Dialed. */
async function served(display: string, open: OpenStream): Promise<Dialed> {
  const server = await serveStreams(open);
  return {
    target: `unix:${server.path}`,
    credentials: grpcCredentials.createInsecure(),
    display,
    failure: () => server.failure(),
    close: () => server.close(),
  };
}

/** A docker host URL or context name -> the docker CLI flag that selects it. */
function dockerSelect(endpoint: string): string[] {
  if (!endpoint || endpoint === 'default') return [];
  return endpoint.includes('://') ? [`--host=${endpoint}`] : [`--context=${endpoint}`];
}

const dialStdio = ['buildctl', 'dial-stdio'];

/** The argv that opens a BuildKit stream for the container / pod schemes. */
export function execArgv(a: Address): string[] {
  switch (a.scheme) {
    case 'docker-container':
      return ['docker', ...dockerSelect(a.context ?? ''), 'exec', '-i', a.name, ...dialStdio];
    case 'podman-container':
      return ['podman', 'exec', '-i', a.name, ...dialStdio];
    case 'nerdctl-container':
      return [
        'nerdctl',
        ...(a.namespace ? [`--namespace=${a.namespace}`] : []),
        'exec',
        '-i',
        a.name,
        ...dialStdio,
      ];
    case 'kubepod':
      return [
        'kubectl',
        ...(a.context ? [`--context=${a.context}`] : []),
        ...(a.namespace ? [`--namespace=${a.namespace}`] : []),
        'exec',
        '-i',
        a.pod,
        ...(a.container ? [`--container=${a.container}`] : []),
        '--',
        ...dialStdio,
      ];
    case 'ssh':
      // BuildKit's ssh helper: `buildctl dial-stdio` on the remote host, over the user's own ssh set-up
      return [
        'ssh',
        ...(a.user ? ['-l', a.user] : []),
        ...(a.port ? ['-p', String(a.port)] : []),
        '--',
        a.host,
        'buildctl',
        ...(a.socket ? ['--addr', `unix://${a.socket}`] : []),
        'dial-stdio',
      ];
    default:
      throw new CopaError('INTERNAL', `no exec argv for ${a.scheme}://`);
  }
}

async function dialDocker(display: string, spec: DockerHostSpec, env: NodeJS.ProcessEnv): Promise<Dialed> {
  const endpoint = await resolveDockerHost(spec, env);
  return served(display, () => hijack(endpoint));
}

async function dialBuildx(
  display: string,
  builder: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<Dialed> {
  const node = await buildxNode(builder, env);
  const what = `buildx builder ${JSON.stringify(node.builder)}`;
  switch (node.driver) {
    case 'docker-container': {
      const container = BUILDX_CONTAINER_PREFIX + node.node;
      if (!NAME_RE.test(container))
        throw new CopaError('ENVIRONMENT', `${what}: invalid node name ${node.node}`);
      const argv = ['docker', ...dockerSelect(node.endpoint), 'exec', '-i', container, ...dialStdio];
      return served(display, () => childStream(argv, env));
    }
    case 'docker':
      return dialDocker(
        display,
        node.endpoint.includes('://')
          ? parseDockerEndpoint(node.endpoint)
          : { kind: 'context', name: node.endpoint || 'default' },
        env,
      );
    case 'remote': {
      const o = node.driverOpts;
      const tls: TlsOptions = { caCert: o.cacert, cert: o.cert, key: o.key, serverName: o.servername };
      const inner = await dial(node.endpoint, { tls, env });
      return { ...inner, display };
    }
    default:
      throw new CopaError(
        'ENVIRONMENT',
        `${what} uses the ${node.driver || 'unknown'} driver, which Copa cannot reach`,
        {
          hint: 'use a docker-container, docker or remote builder, or pass the BuildKit address itself (kubepod://POD)',
        },
      );
  }
}

function parseDockerEndpoint(url: string): DockerHostSpec {
  const a = parseAddress(`docker://${url}`);
  return a.scheme === 'docker' ? a.docker : { kind: 'default' };
}

/** Open a BuildKit address for grpc-js. Throws CopaError('USAGE') for unknown schemes / malformed input. */
export async function dial(
  addr: string,
  opts: { tls?: TlsOptions; env?: NodeJS.ProcessEnv } = {},
): Promise<Dialed> {
  const env = opts.env ?? process.env;
  const a = parseAddress(addr);
  const display = addr.trim();
  if (hasTls(opts.tls) && a.scheme !== 'tcp' && a.scheme !== 'buildx')
    throw new CopaError(
      'USAGE',
      `BuildKit TLS options (--cacert/--cert/--key) apply to tcp:// addresses, not ${a.scheme}://`,
    );
  switch (a.scheme) {
    case 'unix':
      return {
        target: `unix:${a.path}`,
        credentials: grpcCredentials.createInsecure(),
        display,
        close: async () => {},
      };
    case 'tcp': {
      const target = `${a.host}:${a.port}`;
      if (!hasTls(opts.tls))
        return { target, credentials: grpcCredentials.createInsecure(), display, close: async () => {} };
      return { target, ...(await tlsCredentials(opts.tls)), display, close: async () => {} };
    }
    case 'docker':
      return dialDocker(display, a.docker, env);
    case 'buildx':
      return dialBuildx(display, a.builder, env);
    default: {
      const argv = execArgv(a);
      return served(display, () => childStream(argv, env));
    }
  }
}

async function isSocket(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isSocket(),
    () => false,
  );
}

/**
 * Copa's auto-detection order when --engine buildkit has no --addr: the Docker daemon (docker context /
 * DOCKER_HOST), the current buildx builder, unix:///run/buildkit/buildkitd.sock — only the ones that exist
 * (a unix socket that is there, a tcp host as configured, a builder whose instance file is there).
 */
export async function autoCandidates(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const out: string[] = [];
  const docker = await resolveDockerHost({ kind: 'default' }, env).catch(() => undefined);
  if (docker?.kind === 'unix' && (await isSocket(docker.path))) out.push(`docker://${docker.path}`);
  else if (docker?.kind === 'tcp') out.push('docker://');
  const builder = await currentBuilder(env).catch(() => undefined);
  if (builder !== undefined && (await builderExists(builder, env))) out.push(`buildx://${builder}`);
  if (await isSocket(DEFAULT_BUILDKIT_ADDR.slice('unix://'.length))) out.push(DEFAULT_BUILDKIT_ADDR);
  return out;
}
