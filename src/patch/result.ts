import type { LibraryFailure } from '../langmgr/types.js';
import type { PatchPlan } from './plan.js';
import type { PhaseTiming } from './phases.js';

export type PatchStatus = 'Patched' | 'Up-to-date' | 'DryRun';

/** One platform of a multi-platform run. */
export interface PlatformResult {
  platform: string;
  status: 'Patched' | 'Up-to-date' | 'DryRun' | 'Preserved' | 'Error';
  reason?: string | undefined;
  plan?: PatchPlan | undefined;
  digest?: string | undefined;
  layer?: PatchResult['layer'];
  timings?: PhaseTiming[] | undefined;
}

/** What a run did; printed as JSON by --json. Stable field order. */
export interface PatchResult {
  status: PatchStatus;
  image: string;
  /** the reference written (registry tag, or OCI layout ref name) */
  patchedImage?: string | undefined;
  /** manifest digest of the patched image */
  digest?: string | undefined;
  /** `os/arch[/variant]`, or `multi` for a multi-platform run (see `platforms`) */
  platform: string;
  /** single-platform runs */
  plan?: PatchPlan | undefined;
  /** multi-platform runs: one entry per platform of the index */
  platforms?: PlatformResult[] | undefined;
  /** the new layer */
  layer?:
    { digest: string; diffID: string; size: number; uncompressedSize: number; mediaType: string } | undefined;
  /** installed versions after patching, for the packages the plan named */
  installed?: Record<string, string> | undefined;
  /** validation failures tolerated by --ignore-errors */
  failed?: Array<{ name: string; installed: string | null; required: string }> | undefined;
  /** library updates that failed (tolerated by --ignore-errors) */
  libraryFailed?: LibraryFailure[] | undefined;
  /** registry push, OCI layout, local load (docker/podman), or a build context (`copa generate`) */
  output: {
    kind: 'registry' | 'oci-layout' | 'docker' | 'podman' | 'build-context' | 'none';
    location?: string | undefined;
  };
  /** seconds per phase (layers ready, package lists, install, layer write, delivery); single-platform runs */
  timings?: PhaseTiming[] | undefined;
  /** report mode: the report's vulnerabilities (of the selected package types): total, with a fix, without */
  report?: { total: number; patched: number; skipped: number } | undefined;
  /** --attach: the referrers pushed (SBOM, VEX) or copied (preserved platforms), as listed back */
  referrers?: AttachedReferrer[] | undefined;
}

export interface AttachedReferrer {
  artifactType: string;
  digest: string;
  subject: string;
  via: 'referrers-api' | 'tag-schema';
  action: 'attached' | 'copied';
  platform?: string | undefined;
}
