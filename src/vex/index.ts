export {
  buildOpenVex,
  canonicalJson,
  DEFAULT_VEX_AUTHOR,
  OPENVEX_CONTEXT,
  skipReason,
  vexAuthor,
  type BuildVexInput,
} from './openvex.js';
export {
  encodePurlComponent,
  libraryPackageUrl,
  ociPackageUrl,
  osPackageUrl,
  packageUrl,
  type PurlParts,
} from './purl.js';
export type { OpenVexDocument, VexComponent, VexProduct, VexStatement } from './types.js';
export { serializeVex, writeVex } from './write.js';
