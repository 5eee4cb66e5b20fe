/**
 * The packages of a patched image as SBOM entries (shared by the CycloneDX and SPDX builders): every OS
 * package installed after the patch, then the libraries the patch changed, each with its purl.
 */
import { formatPlatform } from '../oci/platform.js';
import type { Platform } from '../oci/schemas.js';
import { libraryPackageUrl, ociPackageUrl, osPackageUrl } from '../vex/purl.js';
import type { ImageInventory } from './types.js';

export interface SbomEntry {
  kind: 'os' | 'library';
  name: string;
  /** the version in the patched image */
  version: string;
  purl: string;
  /** set when this patch changed the package: the version before ('' = newly installed) */
  from?: string | undefined;
  /** libraries: report type (python-pkg, node-pkg, gomod, gobinary, dotnet-core) and where in the image */
  ecosystem?: string | undefined;
  path?: string | undefined;
}

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function imageEntries(img: ImageInventory): SbomEntry[] {
  const ctx = {
    osType: img.os.type,
    osVersion: img.os.version,
    arch: img.platform.architecture,
    variant: img.platform.variant,
  };
  const os: SbomEntry[] = [...img.packages].map(([name, version]) => ({
    kind: 'os',
    name,
    version,
    purl: osPackageUrl(name, version, ctx),
    ...(img.updated.has(name) ? { from: img.updated.get(name) ?? '' } : {}),
  }));
  const libs: SbomEntry[] = img.libraries.map((l) => ({
    kind: 'library',
    name: l.name,
    version: l.to,
    purl: libraryPackageUrl(l.type, l.name, l.to),
    from: l.from,
    ecosystem: l.type,
    path: l.path,
  }));
  const key = (e: SbomEntry): string => `${e.purl} ${e.path ?? ''}`;
  return [
    ...os.sort((a, b) => byCodePoint(key(a), key(b))),
    ...libs.sort((a, b) => byCodePoint(key(a), key(b))),
  ];
}

/** `pkg:oci/<last path element>@<digest>`, the same purl the VEX document names the image by. */
export function imagePurl(name: string, digest: string | undefined): string | undefined {
  return digest ? ociPackageUrl(name, digest) : undefined;
}

export function platformLabel(p: Platform): string {
  return formatPlatform(p);
}

/** Hands out each id once: the second `x` becomes `x-2`, and so on. */
export function uniqueIds(): (id: string) => string {
  const seen = new Map<string, number>();
  return (id) => {
    const n = (seen.get(id) ?? 0) + 1;
    seen.set(id, n);
    return n === 1 ? id : `${id}-${n}`;
  };
}
