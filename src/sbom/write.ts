import { writeOutputFile } from '../fs/output.js';
import { buildCycloneDx, type CycloneDxBom } from './cyclonedx.js';
import { buildSpdx, type SpdxDocument } from './spdx.js';
import type { SbomFormat, SbomInput } from './types.js';

export type SbomDocument = CycloneDxBom | SpdxDocument;

export function buildSbom(format: SbomFormat, input: SbomInput): SbomDocument {
  return format === 'spdx' ? buildSpdx(input) : buildCycloneDx(input);
}

/** The file's bytes: two-space indented JSON and a final newline. */
export function serializeSbom(doc: SbomDocument): string {
  return JSON.stringify(doc, null, 2) + '\n';
}

/**
 * Write the document through a temporary file renamed into place, also over an existing file (its mode and
 * owner kept); a symlink or a device (/dev/stdout) is written through. An unwritable path is a usage error.
 */
export async function writeSbom(path: string, doc: SbomDocument): Promise<void> {
  await writeOutputFile(path, serializeSbom(doc), { what: 'SBOM', flag: '--sbom', replaceFiles: true });
}

/** How many packages the document lists (for the log line). */
export function sbomPackageCount(doc: SbomDocument): number {
  if ('bomFormat' in doc) {
    const all = doc.components.flatMap((c) => [c, ...(c.components ?? [])]);
    return all.filter((c) => c.type === 'library').length;
  }
  return doc.packages.filter((p) => p.primaryPackagePurpose === 'LIBRARY').length;
}
