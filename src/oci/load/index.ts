import { CopaError } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import type { Image } from '../image.js';
import { dockerLoad, pingDocker } from './docker.js';
import { dockerEndpoint, type DockerEndpoint } from './endpoint.js';
import { findExecutable, podmanLoad } from './podman.js';

export { dockerEndpoint, parseDockerHost, DEFAULT_DOCKER_HOST, type DockerEndpoint } from './endpoint.js';
export { dockerLoad, parseLoadReply, pingDocker, type LoadReply } from './docker.js';
export { findExecutable, podmanLoad } from './podman.js';
export {
  exportCompression,
  layerCompression,
  reencodeImage,
  type ExportCompression,
  type ReencodeOptions,
} from './reencode.js';

export type LoaderName = 'docker' | 'podman';

/** A local image store that answered: the docker engine at an endpoint, or a podman binary. */
export type LocalStore =
  { loader: 'docker'; endpoint: DockerEndpoint } | { loader: 'podman'; podman: string };

export interface LoadOptions {
  /** docker, podman, or '' = docker if its engine answers, else podman if it is on PATH */
  loader: LoaderName | '';
  logger?: Logger;
  signal?: AbortSignal;
  /** environment to read DOCKER_HOST / DOCKER_CONTEXT / PATH from and to run podman with */
  env?: NodeJS.ProcessEnv;
}

const OTHER_OUTPUTS = 'use --push to push to a registry or --oci-dir DIR to write an OCI layout';

/** Find the local image store to load into (Copa's order: docker engine, then podman), or fail clearly. */
export async function resolveLocalStore(opts: LoadOptions): Promise<LocalStore> {
  const env = opts.env ?? process.env;
  const logger = opts.logger ?? silentLogger;
  if (opts.loader === 'docker' || opts.loader === '') {
    const endpoint = await dockerEndpoint(env);
    if (await pingDocker(endpoint)) return { loader: 'docker', endpoint };
    if (opts.loader === 'docker') {
      throw new CopaError(
        'ENVIRONMENT',
        `no docker engine answers at ${endpoint.socketPath} (${endpoint.source})`,
        {
          hint: `start docker or set DOCKER_HOST; or ${OTHER_OUTPUTS}`,
        },
      );
    }
    logger.debug(`no docker engine at ${endpoint.socketPath}; looking for podman`);
  }
  const podman = await findExecutable('podman', env);
  if (podman) return { loader: 'podman', podman };
  if (opts.loader === 'podman') {
    throw new CopaError('ENVIRONMENT', 'podman is not on PATH', {
      hint: `install podman; or ${OTHER_OUTPUTS}`,
    });
  }
  throw new CopaError('ENVIRONMENT', 'no local image store found (docker or podman)', {
    hint: OTHER_OUTPUTS,
  });
}

/** Load `image` as `repoTag` into a store found by resolveLocalStore. `id` is the image ID (config digest). */
export async function loadInto(
  store: LocalStore,
  image: Image,
  repoTag: string,
  opts: Omit<LoadOptions, 'loader'> = {},
): Promise<{ loader: LoaderName; id: string }> {
  const common = {
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  if (store.loader === 'docker') await dockerLoad(store.endpoint, image, repoTag, common);
  else await podmanLoad(store.podman, image, repoTag, { ...common, ...(opts.env ? { env: opts.env } : {}) });
  return { loader: store.loader, id: (await image.manifest()).config.digest };
}

/** Load `image` as `repoTag` into docker or podman (auto-detected unless `opts.loader` names one). */
export async function loadImage(
  image: Image,
  repoTag: string,
  opts: LoadOptions,
): Promise<{ loader: LoaderName; id: string }> {
  return loadInto(await resolveLocalStore(opts), image, repoTag, opts);
}
