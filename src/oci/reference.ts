import { CopaError } from '../errors.js';

/** An image reference normalised the way docker does: `nginx` -> docker.io/library/nginx:latest. */
export interface ImageReference {
  /** e.g. docker.io, 127.0.0.1:5000, ghcr.io */
  registry: string;
  /** e.g. library/nginx */
  repository: string;
  tag?: string | undefined;
  digest?: string | undefined;
}

export const DEFAULT_REGISTRY = 'docker.io';
export const DEFAULT_TAG = 'latest';
const LEGACY_DEFAULT_REGISTRY = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
/** distribution/reference's NameTotalLengthMax, applied to the repository path. */
const MAX_REPOSITORY_LENGTH = 255;

// The grammar of distribution/reference (the library docker uses), written as regular expressions.
const alphaNumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphaNumeric}(?:${separator}${alphaNumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainAndPort = `(?:${domainName}|${ipv6})(?::[0-9]+)?`;
const tagPattern = '[\\w][\\w.-]{0,127}';
const digestPattern = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';

const REFERENCE_RE = new RegExp(
  `^((?:${domainAndPort}/)?${remoteName})(?::(${tagPattern}))?(?:@(${digestPattern}))?$`,
);
const NAME_RE = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;
const SHA256_HEX_RE = /^[a-f0-9]{64}$/;

const FORMAT_HINT =
  'write it as [registry[:port]/]repository[:tag][@sha256:<64 hex>], e.g. nginx:1.27 or 127.0.0.1:5000/team/app:v1';

function invalid(input: string, why: string, hint = FORMAT_HINT): CopaError {
  return new CopaError('REFERENCE', `invalid image reference ${JSON.stringify(input)}: ${why}`, { hint });
}

/** docker's splitDockerDomain: is the first path component a registry host? */
function splitRegistry(name: string): { registry: string; remainder: string } {
  const slash = name.indexOf('/');
  let registry: string;
  let remainder: string;
  const first = slash === -1 ? '' : name.slice(0, slash);
  if (slash === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    registry = DEFAULT_REGISTRY;
    remainder = name;
  } else {
    registry = first;
    remainder = name.slice(slash + 1);
  }
  if (registry === LEGACY_DEFAULT_REGISTRY) registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && !remainder.includes('/')) remainder = OFFICIAL_PREFIX + remainder;
  return { registry, remainder };
}

function checkDigest(input: string, digest: string): string {
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  if (algorithm !== 'sha256') {
    throw invalid(input, `unsupported digest algorithm "${algorithm}"`, 'only sha256 digests are supported');
  }
  if (!SHA256_HEX_RE.test(hex)) {
    throw invalid(
      input,
      hex.length === 64
        ? 'digest must be lowercase hex'
        : `sha256 digest has ${hex.length} hex characters, expected 64`,
      'a digest is sha256: followed by 64 lowercase hex characters',
    );
  }
  return digest;
}

const TAG_RE = new RegExp(`^${tagPattern}$`);
const DIGEST_SHAPE_RE = new RegExp(`^${digestPattern}$`);

/** A precise reason for a reference the grammar rejected (remainder = everything after the registry). */
function diagnose(remainder: string): string {
  const at = remainder.indexOf('@');
  const name = at === -1 ? remainder : remainder.slice(0, at);
  if (at !== -1 && !DIGEST_SHAPE_RE.test(remainder.slice(at + 1))) {
    return 'digest must look like sha256:<64 hex characters>';
  }
  const colon = name.indexOf(':', name.lastIndexOf('/') + 1);
  if (colon !== -1) {
    const tag = name.slice(colon + 1);
    if (tag.length > 128) return 'tag is longer than 128 characters';
    if (!TAG_RE.test(tag)) return `tag "${tag}" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`;
  }
  return 'invalid reference format';
}

/**
 * Parse an image reference exactly like docker (distribution/reference ParseNormalizedNamed):
 * `nginx` -> {registry: docker.io, repository: library/nginx}; a name without tag or digest gets NO
 * tag here (use withDefaultTag). Throws CopaError('REFERENCE') with a hint.
 */
export function parseReference(input: string): ImageReference {
  if (input === '') throw invalid(input, 'reference is empty');
  if (IDENTIFIER_RE.test(input)) {
    throw invalid(
      input,
      'a 64-character hex string is an image ID, not a repository name',
      'use repository@sha256:<hex> to pin a digest',
    );
  }
  const { registry: splitRegistryName, remainder } = splitRegistry(input);
  const tagSep = remainder.indexOf(':');
  const repoPart = tagSep === -1 ? remainder : remainder.slice(0, tagSep);
  if (repoPart.toLowerCase() !== repoPart) {
    throw invalid(input, `repository name "${repoPart}" must be lowercase`);
  }
  const full = `${splitRegistryName}/${remainder}`;
  const m = REFERENCE_RE.exec(full);
  if (!m) {
    if (REFERENCE_RE.test(full.toLowerCase())) throw invalid(input, 'repository name must be lowercase');
    throw invalid(input, diagnose(remainder));
  }
  const [, name = '', tag, digest] = m;
  const nm = NAME_RE.exec(name);
  const registry = nm?.[1] ?? '';
  const repository = nm?.[2] ?? name;
  if (registry === '') {
    // the first component was taken for a host (it has a dot or a colon) but is no valid host name
    throw invalid(input, `"${splitRegistryName}" is not a valid registry host name`);
  }
  if (repository.length > MAX_REPOSITORY_LENGTH) {
    throw invalid(input, `repository name is longer than ${MAX_REPOSITORY_LENGTH} characters`);
  }
  const ref: ImageReference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = checkDigest(input, digest);
  return ref;
}

/** The reference with tag `latest` when it has neither tag nor digest (docker's TagNameOnly). */
export function withDefaultTag(ref: ImageReference): ImageReference {
  if (ref.tag !== undefined || ref.digest !== undefined) return ref;
  return { ...ref, tag: DEFAULT_TAG };
}

/** `registry/repository` */
export function repositoryName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

function suffix(ref: ImageReference): string {
  return (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** The fully qualified form `registry/repository[:tag][@digest]`. */
export function formatReference(ref: ImageReference): string {
  return repositoryName(ref) + suffix(ref);
}

/** docker's short form: `nginx:latest`, `user/app:v1`, `ghcr.io/o/r@sha256:…` (no default tag added). */
export function familiarString(ref: ImageReference): string {
  let name = repositoryName(ref);
  if (ref.registry === DEFAULT_REGISTRY) {
    name = ref.repository;
    const rest = name.startsWith(OFFICIAL_PREFIX) ? name.slice(OFFICIAL_PREFIX.length) : undefined;
    if (rest !== undefined && !rest.includes('/')) name = rest;
  }
  return name + suffix(ref);
}
