import { writeOutputFile } from '../fs/output.js';
import type { OpenVexDocument } from './types.js';

/** The file's bytes: two-space indented JSON and a final newline. */
export function serializeVex(doc: OpenVexDocument): string {
  return JSON.stringify(doc, null, 2) + '\n';
}

/** Write the document atomically (see writeOutputFile); an unwritable path is a usage error. */
export async function writeVex(path: string, doc: OpenVexDocument): Promise<void> {
  await writeOutputFile(path, serializeVex(doc), { what: 'VEX document', flag: '--output' });
}
