/**
 * The patch flow's side of --sbom: what one patched image contains (from the package manager's list read
 * after the patch, and the library changes), and writing the document once the image has its digest.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from '../log.js';
import type { Platform } from '../oci/schemas.js';
import {
  buildSbom,
  sbomPackageCount,
  writeSbom,
  type ImageInventory,
  type SbomDocument,
} from '../sbom/index.js';
import type { Applied } from './apply.js';
import type { LibrariesApplied } from './libraries.js';
import type { ResolvedPatchOptions } from './options.js';

export function inventoryOf(
  applied: Applied,
  libraries: LibrariesApplied | undefined,
  platform: Platform,
  digest: string,
): ImageInventory {
  return {
    platform,
    digest,
    os: applied.plan.os,
    packages: applied.packages ?? new Map(),
    updated: new Map(applied.plan.updates.map((u) => [u.name, u.from])),
    libraries: libraries?.changes ?? [],
  };
}

let toolVersion: string | undefined;
function copaVersion(): string {
  toolVersion ??= (
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version;
  return toolVersion;
}

/** The SBOM of `name`@`digest` (an image, or an index of `images`). */
export function sbomDocument(
  opts: ResolvedPatchOptions,
  subject: {
    name: string;
    digest: string | undefined;
    base: { name: string; digest: string };
    index?: boolean;
  },
  images: ImageInventory[],
): SbomDocument {
  return buildSbom(opts.sbomFormat, {
    name: subject.name,
    digest: subject.digest,
    base: subject.base,
    index: subject.index === true,
    images,
    toolVersion: copaVersion(),
  });
}

/** Write the SBOM of what was delivered (--sbom): `name`@`digest` (an image, or an index of `images`). */
export async function emitSbom(
  opts: ResolvedPatchOptions,
  subject: Parameters<typeof sbomDocument>[1],
  images: ImageInventory[],
  logger: Logger,
): Promise<void> {
  if (!opts.sbomOutput || images.length === 0) return;
  const doc = sbomDocument(opts, subject, images);
  await writeSbom(opts.sbomOutput, doc);
  logger.info(
    `Wrote ${opts.sbomFormat === 'spdx' ? 'SPDX 2.3' : 'CycloneDX 1.6'} SBOM ${opts.sbomOutput} (${sbomPackageCount(doc)} package(s))`,
  );
}
