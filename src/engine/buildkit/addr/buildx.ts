import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CopaError } from '../../../errors.js';
import { dockerConfigDir } from './docker-host.js';
import { NAME_RE } from './parse.js';

/**
 * buildx builders as buildx stores them: $DOCKER_CONFIG/buildx/current ({"Key","Name","Global"}) names the
 * current builder, $DOCKER_CONFIG/buildx/instances/<name> holds {"Name","Driver","Nodes":[{"Name",
 * "Endpoint","DriverOpts"}]}. Only the first node is used (a multi-node builder still builds on one).
 */

export interface BuildxNode {
  builder: string;
  driver: string;
  node: string;
  /** docker-container / docker: a docker host URL or context name; remote: the BuildKit address */
  endpoint: string;
  driverOpts: Record<string, string>;
}

/** The buildkitd container buildx's docker-container driver runs for a node. */
export const BUILDX_CONTAINER_PREFIX = 'buildx_buildkit_';

function buildxDir(env: NodeJS.ProcessEnv): string {
  return join(dockerConfigDir(env), 'buildx');
}

/** Go's encoding/json matches keys case-insensitively; buildx writes "Name", Copa reads "name". */
function field(obj: unknown, key: string): unknown {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const k = Object.keys(obj).find((x) => x.toLowerCase() === key.toLowerCase());
  return k === undefined ? undefined : (obj as Record<string, unknown>)[k];
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CopaError('ENVIRONMENT', `buildx file ${path} is not JSON`);
  }
}

/** BUILDX_BUILDER, else the `current` file's name; undefined when neither names one. */
export async function currentBuilder(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const fromEnv = env.BUILDX_BUILDER?.trim();
  if (fromEnv) return fromEnv;
  const name = str(field(await readJson(join(buildxDir(env), 'current')), 'name'));
  return name || undefined;
}

/** Whether an instance file exists for `name` (auto-detection lists only existing builders). */
export async function builderExists(name: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  if (!NAME_RE.test(name)) return false;
  return (await readJson(join(buildxDir(env), 'instances', name)).catch(() => undefined)) !== undefined;
}

/** The node of builder `name` (or the current builder) to connect to. */
export async function buildxNode(name: string | undefined, env: NodeJS.ProcessEnv): Promise<BuildxNode> {
  const builder = name ?? (await currentBuilder(env));
  if (builder === undefined)
    throw new CopaError(
      'ENVIRONMENT',
      'no buildx builder selected (BUILDX_BUILDER unset, no buildx current)',
      {
        hint: 'name one: --addr buildx://NAME (docker buildx ls lists them)',
      },
    );
  if (!NAME_RE.test(builder))
    throw new CopaError('USAGE', `invalid buildx builder name ${JSON.stringify(builder)}`);
  const path = join(buildxDir(env), 'instances', builder);
  const inst = await readJson(path);
  if (inst === undefined)
    throw new CopaError('ENVIRONMENT', `buildx builder ${JSON.stringify(builder)} not found (no ${path})`, {
      hint: 'docker buildx ls lists the builders; docker buildx create makes one',
    });
  const nodes = field(inst, 'nodes');
  const first: unknown = Array.isArray(nodes) ? nodes[0] : undefined;
  if (first === undefined)
    throw new CopaError('ENVIRONMENT', `buildx builder ${JSON.stringify(builder)} has no nodes`);
  const opts = field(first, 'driveropts');
  const driverOpts: Record<string, string> = {};
  if (typeof opts === 'object' && opts !== null)
    for (const [k, v] of Object.entries(opts)) if (typeof v === 'string') driverOpts[k] = v;
  return {
    builder,
    driver: str(field(inst, 'driver')),
    node: str(field(first, 'name')),
    endpoint: str(field(first, 'endpoint')),
    driverOpts,
  };
}
