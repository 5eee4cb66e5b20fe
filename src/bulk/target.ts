import { CopaError } from '../errors.js';
import { parseReference, repositoryName } from '../oci/reference.js';
import type { TargetSpec } from './spec.js';
import { DEFAULT_TAG_TEMPLATE } from './template.js';

/** The target of one image entry after the global and per-image `target` fields are combined. */
export interface ResolvedTarget {
  registry?: string;
  tag: string;
}

const REPOSITORY_HINT = 'write it as [registry[:port]/]repository, e.g. docker.io/library/nginx';
const REGISTRY_HINT = 'target.registry is a registry host with an optional path, e.g. ghcr.io/myorg';

function reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // parseReference says `invalid image reference "<input>": <why>`; keep the why
  return message.replace(/^invalid image reference "(?:[^"\\]|\\.)*": /, '');
}

/**
 * The repository the patched images of `sourceRepo` go to, normalised like docker
 * (`nginx` -> docker.io/library/nginx). With `registry` (a registry host plus optional path prefix) it is
 * `registry/<last path segment of the source repository>`, as Copa does:
 * quay.io/opstree/redis + ghcr.io/myorg -> ghcr.io/myorg/redis. A registry without a dot, colon or
 * `localhost` is a Docker Hub namespace, as in docker (`myorg` -> docker.io/myorg/redis).
 */
export function targetRepository(sourceRepo: string, registry?: string): string {
  const source = parseReference(sourceRepo);
  if (source.tag !== undefined || source.digest !== undefined) {
    throw new CopaError(
      'USAGE',
      `source image ${JSON.stringify(sourceRepo)} must be a repository without tag or digest`,
      { hint: REPOSITORY_HINT },
    );
  }
  if (registry === undefined) return repositoryName(source);
  const prefix = registry.replace(/\/+$/, '');
  const segments = source.repository.split('/');
  const joined = `${prefix}/${segments[segments.length - 1] ?? source.repository}`;
  let target;
  try {
    target = parseReference(joined);
  } catch (err) {
    throw new CopaError(
      'USAGE',
      `target registry ${JSON.stringify(registry)} gives the invalid repository ${JSON.stringify(joined)}: ${reason(err)}`,
      { hint: REGISTRY_HINT },
    );
  }
  if (target.tag !== undefined || target.digest !== undefined) {
    throw new CopaError(
      'USAGE',
      `target registry ${JSON.stringify(registry)} gives ${JSON.stringify(joined)}, which has a tag or digest`,
      { hint: REGISTRY_HINT },
    );
  }
  return repositoryName(target);
}

/** Combine the global and the per-image target field by field (per-image wins); tag has a default. */
export function resolveTarget(global: TargetSpec | undefined, image: TargetSpec | undefined): ResolvedTarget {
  const registry = image?.registry ?? global?.registry;
  const tag = image?.tag ?? global?.tag ?? DEFAULT_TAG_TEMPLATE;
  return registry === undefined ? { tag } : { registry, tag };
}
