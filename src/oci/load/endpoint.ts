import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { CopaError } from '../../errors.js';

/** Where the Docker Engine API listens (only unix sockets are supported). */
export interface DockerEndpoint {
  socketPath: string;
  /** how it was found, for messages: "DOCKER_HOST", "docker context foo", "default" */
  source: string;
}

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

const NOT_SUPPORTED_HINT = 'use a unix:// DOCKER_HOST, --loader podman, --push or --oci-dir DIR';

/** `unix:///path` (or `unix://path`) -> the socket path; other schemes are refused clearly (pure). */
export function parseDockerHost(host: string, source: string): DockerEndpoint {
  const m = /^unix:\/\/(.+)$/.exec(host.trim());
  if (m?.[1]) return { socketPath: m[1], source };
  const scheme = /^([a-z]+):\/\//.exec(host.trim())?.[1];
  throw new CopaError(
    'ENVIRONMENT',
    scheme
      ? `docker host ${JSON.stringify(host)} (${source}) uses ${scheme}://, which copa cannot load into yet`
      : `docker host ${JSON.stringify(host)} (${source}) is not a unix:// address`,
    { hint: NOT_SUPPORTED_HINT },
  );
}

const DockerConfigSchema = z.looseObject({ currentContext: z.string().optional() });
const ContextMetaSchema = z.looseObject({
  Name: z.string().optional(),
  Endpoints: z.record(z.string(), z.looseObject({ Host: z.string().optional() })).optional(),
});

function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CopaError('ENVIRONMENT', `${what} is not valid JSON: ${(e as Error).message}`, {
      hint: `fix or remove ${what}`,
    });
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * The docker endpoint the docker CLI would use: `DOCKER_HOST`, else the context named by
 * `DOCKER_CONTEXT` or config.json's `currentContext` (its meta.json under contexts/meta/<sha256 of name>/),
 * else /var/run/docker.sock.
 */
export async function dockerEndpoint(env: NodeJS.ProcessEnv = process.env): Promise<DockerEndpoint> {
  const host = env.DOCKER_HOST?.trim();
  if (host) return parseDockerHost(host, 'DOCKER_HOST');
  const configDir = env.DOCKER_CONFIG?.trim() || join(env.HOME?.trim() || homedir(), '.docker');
  let context = env.DOCKER_CONTEXT?.trim();
  if (!context) {
    const configFile = join(configDir, 'config.json');
    const text = await readOptional(configFile);
    if (text !== undefined) {
      const cfg = DockerConfigSchema.safeParse(parseJsonText(text, configFile));
      context = cfg.success ? cfg.data.currentContext : undefined;
    }
  }
  if (!context || context === 'default') return parseDockerHost(DEFAULT_DOCKER_HOST, 'default');
  const id = createHash('sha256').update(context).digest('hex');
  const metaFile = join(configDir, 'contexts', 'meta', id, 'meta.json');
  const text = await readOptional(metaFile);
  if (text === undefined) {
    throw new CopaError(
      'ENVIRONMENT',
      `docker context ${JSON.stringify(context)} does not exist (${metaFile})`,
      {
        hint: 'pick an existing context with `docker context use`, or set DOCKER_HOST',
      },
    );
  }
  const meta = ContextMetaSchema.safeParse(parseJsonText(text, metaFile));
  const ctxHost = meta.success ? meta.data.Endpoints?.docker?.Host : undefined;
  if (!ctxHost) {
    throw new CopaError('ENVIRONMENT', `docker context ${JSON.stringify(context)} has no docker endpoint`, {
      hint: 'set DOCKER_HOST to the engine socket',
    });
  }
  return parseDockerHost(ctxHost, `docker context ${context}`);
}
