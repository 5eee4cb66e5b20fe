/**
 * OCI 1.1 referrers: artifacts whose manifest names another manifest as its `subject` (an SBOM, a VEX
 * document, a signature). Pushed as an image manifest with `artifactType`, the empty config and one layer;
 * found through the referrers API (GET /v2/<name>/referrers/<digest>) where the registry has it, else
 * through the referrers tag schema: an image index at the tag `<alg>-<hex>` that the client keeps.
 */
import { Readable } from 'node:stream';
import { CopaError, withContext } from '../../errors.js';
import { isDigest, sha256 } from '../digest.js';
import { isIndexMediaType, MediaType } from '../mediatypes.js';
import { IndexSchema, ManifestSchema, parseJson, type Descriptor, type Index } from '../schemas.js';
import type { RegistryClient } from './client.js';
import { repoName, type Repo } from './hosts.js';

const EMPTY_JSON = Buffer.from('{}');

/** The empty descriptor (image-spec manifest.md): `{}`, its bytes embedded as `data`. */
export const EMPTY_DESCRIPTOR: Descriptor = {
  mediaType: MediaType.OciEmpty,
  digest: sha256(EMPTY_JSON),
  size: EMPTY_JSON.length,
  data: EMPTY_JSON.toString('base64'),
};

export interface Artifact {
  /** the manifest's bytes and digest */
  raw: Buffer;
  digest: string;
  /** the one layer: the document itself */
  blob: Buffer;
  /** how a referrers index lists it: artifactType and annotations copied from the manifest */
  descriptor: Descriptor;
}

/** An artifact manifest: `artifactType`, the empty config, the document as its one layer, `subject`. */
export function artifactManifest(input: {
  artifactType: string;
  document: Buffer;
  subject: Descriptor;
  annotations?: Record<string, string>;
}): Artifact {
  const { artifactType, document, subject } = input;
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    artifactType,
    config: EMPTY_DESCRIPTOR,
    layers: [{ mediaType: artifactType, digest: sha256(document), size: document.length }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    ...(input.annotations && Object.keys(input.annotations).length > 0
      ? { annotations: input.annotations }
      : {}),
  };
  const raw = Buffer.from(JSON.stringify(manifest));
  const digest = sha256(raw);
  const descriptor: Descriptor = {
    mediaType: MediaType.OciManifest,
    digest,
    size: raw.length,
    artifactType,
    ...(manifest.annotations ? { annotations: manifest.annotations } : {}),
  };
  return { raw, digest, blob: document, descriptor };
}

/** The referrers tag schema's tag for a digest: `<alg>-<ref>`, truncated to 32 and 64 characters. */
export function fallbackTag(digest: string): string {
  if (!isDigest(digest)) throw new CopaError('REFERENCE', `invalid digest ${JSON.stringify(digest)}`);
  const [alg = '', hex = ''] = digest.split(':');
  return `${alg.slice(0, 32).replace(/[^a-zA-Z0-9._-]/g, '-')}-${hex.slice(0, 64)}`;
}

/** The fallback index with `desc` added (an entry of the same digest is replaced, order kept). */
export function mergeReferrersIndex(existing: Index | undefined, desc: Descriptor): Index {
  const manifests = (existing?.manifests ?? []).filter((d) => d.digest !== desc.digest);
  return {
    ...(existing ?? {}),
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: [...manifests, desc],
  };
}

export interface PushedReferrer {
  digest: string;
  artifactType: string;
  subject: string;
  /** how a reader finds it: the registry's referrers API, or the `sha256-<hex>` tag this run updated */
  via: 'referrers-api' | 'tag-schema';
}

/** Push an artifact's blobs and manifest; without `OCI-Subject` in the answer, add it to the fallback tag. */
export async function pushReferrer(
  client: RegistryClient,
  repo: Repo,
  artifact: Artifact,
  subject: string,
): Promise<PushedReferrer> {
  const artifactType = artifact.descriptor.artifactType ?? '';
  try {
    for (const blob of [EMPTY_JSON, artifact.blob]) {
      const digest = sha256(blob);
      if (await client.hasBlob(repo, digest, 'push')) continue;
      await client.pushBlob(repo, digest, blob.length, () => Promise.resolve(Readable.from([blob])));
    }
    return await putReferrerManifest(client, repo, artifact.raw, artifact.descriptor, subject);
  } catch (err) {
    throw withContext(err, `attaching ${artifactType} to ${repoName(repo)}@${subject}`);
  }
}

/** PUT a manifest that has a subject by its digest; keep the fallback index when the registry did not. */
export async function putReferrerManifest(
  client: RegistryClient,
  repo: Repo,
  raw: Buffer,
  descriptor: Descriptor,
  subject: string,
): Promise<PushedReferrer> {
  const pushed = await client.pushManifest(repo, descriptor.digest, raw, descriptor.mediaType);
  const base = { digest: pushed.digest, artifactType: descriptor.artifactType ?? '', subject };
  if (pushed.subject !== undefined) return { ...base, via: 'referrers-api' };
  const tag = fallbackTag(subject);
  const existing = await client.getManifest(repo, tag).catch((e: unknown) => {
    if (e instanceof CopaError && e.code === 'NOT_FOUND') return undefined;
    throw e;
  });
  const current = existing ? parseJson(IndexSchema, existing.bytes, `referrers index ${tag}`) : undefined;
  const merged = mergeReferrersIndex(current, descriptor);
  await client.putManifest(repo, tag, Buffer.from(JSON.stringify(merged)), MediaType.OciIndex);
  return { ...base, via: 'tag-schema' };
}

/** The referrers of `digest` in `repo`: the API's answer, else the fallback tag's index, else none. */
export async function listReferrers(
  client: RegistryClient,
  repo: Repo,
  digest: string,
): Promise<{ via: PushedReferrer['via']; manifests: Descriptor[] }> {
  const api = await client.getReferrers(repo, digest);
  if (api) return { via: 'referrers-api', manifests: parseJson(IndexSchema, api, 'referrers').manifests };
  const tag = fallbackTag(digest);
  const found = await client.getManifest(repo, tag).catch((e: unknown) => {
    if (e instanceof CopaError && e.code === 'NOT_FOUND') return undefined;
    throw e;
  });
  const manifests = found ? parseJson(IndexSchema, found.bytes, `referrers index ${tag}`).manifests : [];
  return { via: 'tag-schema', manifests };
}

/**
 * Copy the referrers of `digest` from one repository to another (same digest there: a preserved platform
 * of a multi-platform image): each referrer's blobs (mounted within one registry, else streamed) and
 * manifest, listed in the target's referrers the same way as a pushed one. Returns what it copied.
 */
export async function copyReferrers(
  client: RegistryClient,
  from: Repo,
  to: Repo,
  digest: string,
): Promise<PushedReferrer[]> {
  const { manifests } = await listReferrers(client, from, digest);
  const copied: PushedReferrer[] = [];
  for (const desc of manifests) {
    try {
      const got = await client.getManifest(from, desc.digest);
      if (isIndexMediaType(got.mediaType)) continue; // an index as a referrer: not copied (see README)
      const manifest = parseJson(ManifestSchema, got.bytes, `referrer ${desc.digest}`);
      for (const blob of [manifest.config, ...manifest.layers]) {
        if (await client.hasBlob(to, blob.digest, 'push')) continue;
        if (await client.mountBlob(to, blob.digest, from)) continue;
        await client.pushBlob(to, blob.digest, blob.size, () => client.getBlob(from, blob.digest, blob.size));
      }
      const listed = { ...desc, mediaType: got.mediaType, size: got.bytes.length };
      copied.push(await putReferrerManifest(client, to, got.bytes, listed, digest));
    } catch (err) {
      throw withContext(err, `copying referrer ${desc.digest} of ${digest} to ${repoName(to)}`);
    }
  }
  return copied;
}
