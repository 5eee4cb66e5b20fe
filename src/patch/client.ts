import type { Logger } from '../log.js';
import { RegistryClient } from '../oci/registry/client.js';
import { DockerConfigCredentials } from '../oci/registry/credentials.js';

/** A registry client with the user's docker/podman credentials and --insecure-registry hosts. */
export function newRegistryClient(
  opts: { insecureRegistries: string[] },
  logger: Logger,
  /** the run's --timeout / cancellation: registry requests and blob streams in flight stop with it */
  signal?: AbortSignal,
): RegistryClient {
  return new RegistryClient({
    insecureRegistries: opts.insecureRegistries,
    credentials: new DockerConfigCredentials(),
    logger,
    ...(signal ? { signal } : {}),
  });
}
