/** The shapes a patch run passes between its steps: the run's context, one image's environment and result. */
import type { Engine } from '../engine/types.js';
import type { LayerCache } from '../layers/cache.js';
import type { Logger } from '../log.js';
import type { Image, ImageIndex } from '../oci/image.js';
import type { LocalStore } from '../oci/load/index.js';
import type { ImageReference } from '../oci/reference.js';
import type { RegistryClient } from '../oci/registry/client.js';
import type { Descriptor, Index, Platform } from '../oci/schemas.js';
import type { UpdateManifest } from '../report/types.js';
import type { ImageInventory } from '../sbom/index.js';
import type { VexFacts } from './documents.js';
import type { PatchOptions, ResolvedPatchOptions } from './options.js';
import type { ProgressSink } from './phases.js';
import type { BaseImage } from './rebase.js';
import type { PatchResult } from './result.js';

export interface RunContext {
  logger: Logger;
  signal: AbortSignal;
  /** live progress (phases of each platform); the CLI draws it */
  progress?: ProgressSink;
  onOutput?: PatchOptions['onOutput'];
  deliver?: PatchOptions['deliver'];
  /** the image root's upper dir is in memory, in `dir` (the space watch names it when it fills up) */
  onMemoryScratch?: (dir: string) => void;
}

/** Everything a per-image patch needs from the run. */
export interface FlowEnv {
  opts: ResolvedPatchOptions;
  ctx: RunContext;
  client: RegistryClient;
  cache: LayerCache;
  store: LocalStore | undefined;
  source: ImageReference;
  report: UpdateManifest | undefined;
  engine: Engine;
}

export interface PatchedOne {
  result: PatchResult;
  /** the patched image (Patched only); its new layer lives in the work dir until `cleanup` */
  image?: Image;
  /** what it is based on (lineage annotations) and what it contains (--sbom); Patched only */
  base?: BaseImage;
  inventory?: ImageInventory;
  /** what a VEX document of this image states (Patched only; multi-platform --attach) */
  vex?: VexFacts;
  cleanup(): Promise<void>;
}

export interface PlatformEntry {
  desc: Descriptor;
  platform: Platform;
  action: 'patch' | 'preserve';
  reason?: string;
  report?: UpdateManifest;
}

export interface MultiPlan {
  index: ImageIndex;
  raw: Index;
  entries: PlatformEntry[];
}
