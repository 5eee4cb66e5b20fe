import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { CopaError } from '../../../errors.js';
import type { DockerHostSpec } from './parse.js';

/**
 * Which Docker daemon `docker://` means, the way the docker CLI decides it: an explicit host, else
 * DOCKER_HOST, else the docker context (DOCKER_CONTEXT, else `currentContext` of config.json), else
 * unix:///var/run/docker.sock. TCP hosts use TLS as the CLI does (DOCKER_TLS_VERIFY + DOCKER_CERT_PATH, or
 * the context's tls dir).
 */

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export interface DockerTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export type DockerEndpoint =
  | { kind: 'unix'; path: string; display: string }
  | { kind: 'tcp'; host: string; port: number; tls?: DockerTls; display: string };

export function dockerConfigDir(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_CONFIG?.trim() || join(env.HOME?.trim() || homedir(), '.docker');
}

function envError(message: string, hint?: string): CopaError {
  return new CopaError('ENVIRONMENT', message, hint === undefined ? {} : { hint });
}

async function readOptional(path: string): Promise<Buffer | undefined> {
  return readFile(path).catch(() => undefined);
}

async function tlsFrom(dir: string): Promise<DockerTls> {
  const [ca, cert, key] = await Promise.all(
    ['ca.pem', 'cert.pem', 'key.pem'].map((f) => readOptional(join(dir, f))),
  );
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

/** A docker host URL (`unix:///p`, `tcp://h[:p]`, `/p`) -> endpoint; `tls` applies to tcp only. */
export function endpointFromUrl(url: string, tls?: DockerTls): DockerEndpoint {
  if (url.startsWith('/')) return { kind: 'unix', path: url, display: `unix://${url}` };
  if (url.startsWith('unix://')) {
    const path = resolve(url.slice('unix://'.length));
    return { kind: 'unix', path, display: `unix://${path}` };
  }
  const m = /^(?:tcp|http|https):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?\/?$/.exec(url);
  if (m) {
    const port = m[2] ? Number(m[2]) : tls ? 2376 : 2375;
    const host = (m[1] ?? '').replace(/^\[|\]$/g, '');
    return { kind: 'tcp', host, port, ...(tls ? { tls } : {}), display: url };
  }
  throw envError(
    `Docker host ${JSON.stringify(url)} is not supported here (unix:// and tcp:// are)`,
    'set DOCKER_HOST to a unix:// or tcp:// address, or pass --addr docker://unix:///path/to/docker.sock',
  );
}

/** The docker context in use: DOCKER_CONTEXT, else config.json currentContext, else 'default'. */
export async function currentDockerContext(env: NodeJS.ProcessEnv): Promise<string> {
  const fromEnv = env.DOCKER_CONTEXT?.trim();
  if (fromEnv) return fromEnv;
  const text = await readOptional(join(dockerConfigDir(env), 'config.json'));
  if (!text) return 'default';
  try {
    const cfg = JSON.parse(text.toString('utf8')) as { currentContext?: unknown };
    return typeof cfg.currentContext === 'string' && cfg.currentContext ? cfg.currentContext : 'default';
  } catch {
    return 'default';
  }
}

/** The endpoint of a named docker context (contexts/meta/<sha256(name)>/meta.json, TLS from contexts/tls). */
export async function contextEndpoint(name: string, env: NodeJS.ProcessEnv): Promise<DockerEndpoint> {
  if (name === 'default') return fromEnvironment(env);
  const id = createHash('sha256').update(name).digest('hex');
  const dir = join(dockerConfigDir(env), 'contexts');
  const metaPath = join(dir, 'meta', id, 'meta.json');
  const text = await readOptional(metaPath);
  if (!text) throw envError(`docker context ${JSON.stringify(name)} not found (no ${metaPath})`);
  let host: unknown;
  try {
    const meta = JSON.parse(text.toString('utf8')) as { Endpoints?: { docker?: { Host?: unknown } } };
    host = meta.Endpoints?.docker?.Host;
  } catch {
    throw envError(`docker context ${JSON.stringify(name)}: ${metaPath} is not JSON`);
  }
  if (typeof host !== 'string' || !host) throw envError(`docker context ${JSON.stringify(name)} has no host`);
  const tls = await tlsFrom(join(dir, 'tls', id, 'docker'));
  return endpointFromUrl(host, Object.keys(tls).length ? tls : undefined);
}

/** DOCKER_HOST (with DOCKER_TLS_VERIFY / DOCKER_CERT_PATH), else the default socket. */
async function fromEnvironment(env: NodeJS.ProcessEnv): Promise<DockerEndpoint> {
  const host = env.DOCKER_HOST?.trim();
  if (!host) return endpointFromUrl(`unix://${DEFAULT_DOCKER_SOCKET}`);
  const verify = env.DOCKER_TLS_VERIFY?.trim();
  const tls =
    verify && verify !== '0'
      ? await tlsFrom(env.DOCKER_CERT_PATH?.trim() || dockerConfigDir(env))
      : undefined;
  return endpointFromUrl(host, tls);
}

/** Resolve a docker:// host spec to the socket or TCP endpoint to open. */
export async function resolveDockerHost(
  spec: DockerHostSpec,
  env: NodeJS.ProcessEnv,
): Promise<DockerEndpoint> {
  switch (spec.kind) {
    case 'unix':
      return { kind: 'unix', path: spec.path, display: `unix://${spec.path}` };
    case 'tcp':
      return {
        kind: 'tcp',
        host: spec.host.replace(/^\[|\]$/g, ''),
        port: spec.port,
        display: `tcp://${spec.host}:${spec.port}`,
      };
    case 'context':
      return contextEndpoint(spec.name, env);
    case 'default': {
      if (env.DOCKER_HOST?.trim()) return fromEnvironment(env);
      return contextEndpoint(await currentDockerContext(env), env);
    }
  }
}
