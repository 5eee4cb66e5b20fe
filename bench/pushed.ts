import { ManifestSchema, parseJson } from '../src/oci/schemas.js';
import { MANIFEST_ACCEPT } from '../src/oci/mediatypes.js';
import { analyzeRegistryLayer, type LayerContent } from './layer.js';
import type { LayerSize } from './stats.js';

/** Read back what a contender pushed (straight from the registry, not through the counting proxy). */

export interface PushedLayer {
  digest: string;
  size: number;
  mediaType: string;
}

/** The layers of the image manifest at repository:reference (a tag or a digest). */
export async function pushedLayers(
  registryHost: string,
  repository: string,
  reference: string,
): Promise<PushedLayer[]> {
  const res = await fetch(`http://${registryHost}/v2/${repository}/manifests/${reference}`, {
    headers: { accept: MANIFEST_ACCEPT },
  });
  if (!res.ok) throw new Error(`GET manifest ${repository}:${reference}: HTTP ${res.status}`);
  const manifest = parseJson(
    ManifestSchema,
    Buffer.from(await res.arrayBuffer()),
    `manifest ${repository}:${reference}`,
  );
  return manifest.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType }));
}

/** The last layer of the image manifest at repository:reference. */
export async function lastPushedLayer(
  registryHost: string,
  repository: string,
  reference: string,
): Promise<PushedLayer> {
  const last = (await pushedLayers(registryHost, repository, reference)).at(-1);
  if (!last) throw new Error(`${repository}:${reference} has no layers`);
  return last;
}

/** The layers of a patched image that its source does not have (by digest): what the patch added. */
export function addedLayers(patched: readonly PushedLayer[], source: readonly PushedLayer[]): PushedLayer[] {
  const base = new Set(source.map((l) => l.digest));
  return patched.filter((l) => !base.has(l.digest));
}

/** Two layers' contents as one (the patch of a tool that writes several layers); the later status file wins. */
export function mergeContents(a: LayerContent, b: LayerContent): LayerContent {
  const bytes = { ...a.bytes };
  for (const [k, v] of Object.entries(b.bytes) as Array<[keyof LayerContent['bytes'], number]>) bytes[k] += v;
  const installed = b.upgradedInstalledSize ?? a.upgradedInstalledSize;
  return {
    compressed: a.compressed + b.compressed,
    uncompressed: a.uncompressed + b.uncompressed,
    entries: a.entries + b.entries,
    bytes,
    ...(installed === undefined ? {} : { upgradedInstalledSize: installed }),
    unwanted: [...a.unwanted, ...b.unwanted].slice(0, 10),
  };
}

/** Whether the registry has a manifest at repository:reference. */
export async function manifestExists(
  registryHost: string,
  repository: string,
  reference: string,
): Promise<boolean> {
  const res = await fetch(`http://${registryHost}/v2/${repository}/manifests/${reference}`, {
    method: 'HEAD',
    headers: { accept: MANIFEST_ACCEPT },
  });
  return res.ok;
}

/** The tags of `refs` (repository, tag) that the registry does not have. */
export async function missingManifests(
  registryHost: string,
  refs: ReadonlyArray<{ repository: string; tag: string }>,
): Promise<string[]> {
  const missing: string[] = [];
  for (const r of refs)
    if (!(await manifestExists(registryHost, r.repository, r.tag))) missing.push(`${r.repository}:${r.tag}`);
  return missing;
}

/**
 * What a patch added to its source image, read back (untimed): the layers the patched image has and the
 * source has not, sizes summed and contents merged. Only gzip layers can be read; with any other the
 * result has no figures.
 */
export async function inspectAddedLayers(
  registryHost: string,
  patched: { repository: string; reference: string },
  source: { repository: string; reference: string },
  upgradable: readonly string[],
): Promise<{ layer?: LayerSize; content?: LayerContent; layers: number }> {
  const added = addedLayers(
    await pushedLayers(registryHost, patched.repository, patched.reference),
    await pushedLayers(registryHost, source.repository, source.reference),
  );
  if (added.length === 0 || added.some((l) => !l.mediaType.endsWith('gzip'))) return { layers: added.length };
  let content: LayerContent | undefined;
  for (const l of added) {
    const c = await analyzeRegistryLayer(registryHost, patched.repository, l.digest, upgradable);
    content = content ? mergeContents(content, c) : c;
  }
  if (!content) return { layers: 0 };
  return {
    layer: { compressed: added.reduce((n, l) => n + l.size, 0), uncompressed: content.uncompressed },
    content,
    layers: added.length,
  };
}
