import type { LibraryChange } from '../langmgr/types.js';
import type { Platform } from '../oci/schemas.js';

/** What one patched single-platform image contains after the patch: the input of both SBOM builders. */
export interface ImageInventory {
  platform: Platform;
  /** manifest digest of the patched image */
  digest: string;
  /** the OS as the patch planned with it (`debian`, `12`) */
  os: { type: string; version: string };
  /** every OS package installed after the patch (the package manager's own list): name -> version */
  packages: ReadonlyMap<string, string>;
  /** OS packages this patch changed: name -> version before (undefined: newly installed) */
  updated: ReadonlyMap<string, string | undefined>;
  /** library packages this patch changed (--pkg-types library), at their new versions */
  libraries: readonly LibraryChange[];
}

export interface SbomInput {
  /** the patched image (or index) as written: `registry/repository:tag` */
  name: string;
  /** its manifest (index) digest; absent when nothing addressable was written (local loads of an index) */
  digest?: string | undefined;
  /** one entry per patched platform */
  images: readonly ImageInventory[];
  /** the subject is an index (a multi-platform run): one image per platform, each holding its packages */
  index?: boolean;
  /** the image it was patched from (the lineage annotations): fully qualified name and manifest digest */
  base: { name: string; digest: string };
  /** copa's version, for the tool entry */
  toolVersion: string;
  /** default: now */
  now?: Date;
  /** default: a random UUID (CycloneDX serial number, SPDX namespace) */
  uuid?: string;
}

export type SbomFormat = 'cyclonedx' | 'spdx';
