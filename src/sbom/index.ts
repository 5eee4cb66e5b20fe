export { buildCycloneDx, CYCLONEDX_SPEC_VERSION, type CycloneDxBom } from './cyclonedx.js';
export { buildSpdx, type SpdxDocument } from './spdx.js';
export type { ImageInventory, SbomFormat, SbomInput } from './types.js';
export { buildSbom, sbomPackageCount, serializeSbom, writeSbom, type SbomDocument } from './write.js';
