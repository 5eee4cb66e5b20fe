import { z } from 'zod';
import { CopaError } from '../../errors.js';
import { isDigest } from '../digest.js';
import { MediaType } from '../mediatypes.js';

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Repository names go into URL paths: only the distribution grammar is allowed. */
export function checkRepository(repository: string): void {
  if (repository.length > 255 || !REPOSITORY_RE.test(repository)) {
    throw new CopaError('REFERENCE', `invalid repository name ${JSON.stringify(repository)}`, {
      hint: 'repository names are lower-case path components of letters, digits and . _ -',
    });
  }
}

/** A manifest reference is a tag or a sha256 digest. */
export function checkReference(reference: string): void {
  if (!TAG_RE.test(reference) && !isDigest(reference)) {
    throw new CopaError('REFERENCE', `invalid tag or digest ${JSON.stringify(reference)}`, {
      hint: 'tags are up to 128 letters, digits and _ . - ; digests look like sha256:<64 hex>',
    });
  }
}

export function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

export function sameOrigin(url: string, base: string): boolean {
  try {
    return new URL(url).origin === new URL(base).origin;
  } catch {
    return false;
  }
}

/** `url` with a query parameter added (upload locations may carry their own query). */
export function addQuery(url: string, name: string, value: string): string {
  const u = new URL(url);
  u.searchParams.set(name, value);
  return u.toString();
}

/** The `rel="next"` target of a Link header (`</v2/x/tags/list?n=2&last=b>; rel="next"`). */
export function nextLink(link: string | undefined): string | undefined {
  if (link === undefined) return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]*)>\s*;(?:.*;)?\s*rel="?next"?/i.exec(part.trim());
    if (m?.[1] !== undefined) return m[1];
  }
  return undefined;
}

const MANIFEST_TYPES: ReadonlySet<string> = new Set([
  MediaType.OciManifest,
  MediaType.OciIndex,
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
]);

const MediaTypeProbe = z.looseObject({ mediaType: z.string().optional(), manifests: z.unknown().optional() });

/**
 * The media type of a manifest: the Content-Type when it is a manifest type, else the document's own
 * `mediaType`, else OCI index (has `manifests`) or OCI manifest.
 */
export function manifestMediaType(contentType: string | undefined, bytes: Buffer | undefined): string {
  const ct = contentType?.split(';')[0]?.trim().toLowerCase();
  if (ct !== undefined && MANIFEST_TYPES.has(ct)) return ct;
  if (bytes === undefined) return ct ?? MediaType.OciManifest;
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    return ct ?? MediaType.OciManifest;
  }
  const probe = MediaTypeProbe.safeParse(raw);
  if (!probe.success) return ct ?? MediaType.OciManifest;
  if (probe.data.mediaType !== undefined && probe.data.mediaType !== '') return probe.data.mediaType;
  return probe.data.manifests !== undefined ? MediaType.OciIndex : MediaType.OciManifest;
}
