import { z } from 'zod';
import type { ProgressSink } from './phases.js';
import type { Logger } from '../log.js';
import type { DeliverHook } from './delivery.js';

/** Options of one `copa patch` run (validated at the edge by the CLI, usable from the library). */
export const PatchOptionsSchema = z.object({
  image: z.string().min(1),
  report: z.string().optional(),
  tag: z.string().optional(),
  tagSuffix: z.string().default('patched'),
  scanner: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_-]*$/, 'scanner names are letters, digits, _ and -')
    .default('trivy'),
  ignoreErrors: z.boolean().default(false),
  timeoutMs: z
    .number()
    .int()
    .positive()
    .default(5 * 60_000),
  workingFolder: z.string().optional(),
  debug: z.boolean().default(false),
  push: z.boolean().default(false),
  ociDir: z.string().optional(),
  insecureRegistries: z.array(z.string()).default([]),
  dryRun: z.boolean().default(false),
  cacheDir: z.string().optional(),
  /** --platform values (a multi-platform image patches only these; a single image must match the first) */
  platforms: z.array(z.string()).default([]),
  /** local image store when neither --push nor --oci-dir: docker, podman, or auto */
  loader: z.enum(['docker', 'podman', '']).default(''),
  /** compression of the new layer for local exports (docker/podman load, OCI layout) */
  compression: z.enum(['uncompressed', 'gzip', 'zstd', 'estargz']).default('uncompressed'),
  forceCompression: z.boolean().default(false),
  /** VEX document (--format openvex --output FILE) */
  vexFormat: z.string().default('openvex'),
  vexOutput: z.string().optional(),
  /** SBOM of the patched image (--sbom FILE --sbom-format cyclonedx|spdx) */
  sbomOutput: z.string().optional(),
  sbomFormat: z.enum(['cyclonedx', 'spdx']).default('cyclonedx'),
  /** --attach: push the SBOM and the VEX document as OCI referrers of the patched manifest(s); needs push */
  attach: z.boolean().default(false),
  /** end-of-life check (update-all mode) */
  eolApiUrl: z.string().default('https://endoflife.date/api/v1/products'),
  exitOnEol: z.boolean().default(false),
  /** replaces the tooling image of this run (distroless / tool-less images) */
  toolingImage: z.string().optional(),
  /** report halves to patch (Copa's experimental --pkg-types): os, library, or both */
  pkgTypes: z
    .array(z.enum(['os', 'library']))
    .min(1)
    .default(['os']),
  /** how far a library may move to reach a fix (Copa's --library-patch-level) */
  libraryPatchLevel: z.enum(['patch', 'minor', 'major']).default('patch'),
  /** Go: rebuild binaries with a newer toolchain for stdlib fixes (patch/minor/major; unset = off) */
  toolchainPatchLevel: z.enum(['patch', 'minor', 'major']).optional(),
  /** Go: where the source of a binary's main module is (`https://host/org/repo@ref`) */
  goVcsUrl: z.string().optional(),
  /** package indexes for library patching (else the host's env variables, else the image's own config) */
  pipIndexUrl: z.string().optional(),
  npmRegistry: z.string().optional(),
  goproxy: z.string().optional(),
  /** extra CA certificates (PEM) for library downloads, visible to the tools for this run only */
  caCerts: z.string().optional(),
  /** extra annotations on the patched manifest (and index): bulk runs record their job id here */
  annotations: z.record(z.string(), z.string()).default({}),
  /** the engine: native (default) or buildkit (implied by --addr) */
  engine: z.enum(['native', 'buildkit']).optional(),
  /** BuildKit daemon address (Copa's --addr schemes); empty with engine buildkit: auto-detect */
  addr: z.string().optional(),
  /** TLS client files for a tcp:// BuildKit (Copa's --cacert/--cert/--key) */
  cacert: z.string().optional(),
  cert: z.string().optional(),
  key: z.string().optional(),
});

export type PatchOptions = z.input<typeof PatchOptionsSchema> & {
  logger?: Logger;
  /** live output of the package manager (progress display) */
  onOutput?: (stream: 'stdout' | 'stderr', data: string) => void;
  /** aborted by Ctrl-C */
  signal?: AbortSignal;
  /** live progress: each platform's phases as they start, move on and end */
  progress?: ProgressSink;
  /** replaces the output step (push / OCI layout / local load); `copa generate` writes a build context */
  deliver?: DeliverHook;
};

export type ResolvedPatchOptions = z.output<typeof PatchOptionsSchema>;
