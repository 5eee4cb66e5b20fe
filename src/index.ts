/** Public library API (named exports only). The CLI in src/cli is a thin layer over these. */
export { CopaError, isRetryable, withContext, type ErrorCode } from './errors.js';
export { silentLogger, type Logger } from './log.js';

// patching
export { patch } from './patch/patch.js';
export type { PatchOptions } from './patch/options.js';
export type { PatchResult, PlatformResult, PatchStatus } from './patch/result.js';
export type { PatchPlan } from './patch/plan.js';
export { generate, type GenerateOptions } from './generate/generate.js';

// bulk
export { loadPatchConfig, parsePatchConfig, type PatchConfig } from './bulk/config.js';
export { planBulk, type PlanContext } from './bulk/planner.js';
export { readPlan, writePlan, type BulkPlan, type PlanJob } from './bulk/planfile.js';
export { runJobs, defaultJobs } from './bulk/run.js';
export { assignShards } from './bulk/shard.js';
export { formatSummary, summaryJson, mergeResults, type JobResult, type JobStatus } from './bulk/summary.js';

// images
export {
  parseReference,
  formatReference,
  repositoryName,
  familiarString,
  withDefaultTag,
  type ImageReference,
} from './oci/reference.js';
export {
  parsePlatform,
  formatPlatform,
  normalizePlatform,
  hostPlatform,
  selectManifest,
} from './oci/platform.js';
export type { Image, ImageIndex, Layer } from './oci/image.js';
export { appendLayer, replaceLayers } from './oci/mutate.js';
export { fileLayer } from './oci/filelayer.js';
export { RegistryClient } from './oci/registry/client.js';
export { DockerConfigCredentials } from './oci/registry/credentials.js';
export { fetchRemote } from './oci/registry/remote.js';
export { pushImage, pushIndex } from './oci/registry/push.js';
export { readOciLayout, writeOciLayout } from './oci/layout/index.js';
export { writeDockerArchive } from './oci/archive/index.js';
export { loadImage } from './oci/load/index.js';

// libraries (experimental) and engines
export {
  chooseFixedVersion,
  selectLibraryUpdates,
  languageManagers,
  type LanguageManager,
  type LibraryChange,
  type LibraryFailure,
  type LibraryPatchLevel,
} from './langmgr/index.js';
export { defaultEngine } from './engine/index.js';
export type { Engine, Executor, ImageRoot } from './engine/types.js';
export { parseGrypeReport } from './report/grype/grype.js';

// layers
export { LayerCache } from './layers/cache.js';
export { withLock } from './fs/lock.js';
export { extractLayer } from './layers/extract.js';
export { writeLayer } from './layers/writer.js';

// reports, versions, VEX, SBOM, EOL
export { loadReport } from './report/index.js';
export type { UpdateManifest, UpdatePackage } from './report/types.js';
export { debVersion } from './version/deb.js';
export { rpmVersion } from './version/rpm.js';
export { apkVersion } from './version/apk.js';
export { pacmanVersion } from './version/pacman.js';
export type { VersionScheme } from './version/types.js';
export { buildOpenVex, writeVex } from './vex/index.js';
export { buildSbom, writeSbom, type SbomDocument, type SbomInput } from './sbom/index.js';
export { checkEol } from './eol/index.js';
