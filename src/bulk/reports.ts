import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { CopaError } from '../errors.js';
import { formatReference, parseReference, withDefaultTag } from '../oci/reference.js';

/**
 * The report directory of bulk mode's skip check (`-r DIR`): scan reports of already patched images, found
 * by the image reference inside them (Trivy's top-level `ArtifactName`), not by file name.
 */

/** Reports larger than this are not read. */
export const MAX_REPORT_BYTES = 256 * 1024 * 1024;

export interface ReportIndex {
  /** normalised image reference (see artifactKey) -> report file path */
  byArtifact: Map<string, string>;
  /** `*.json` files that are not in the index, and why (for a warning) */
  skipped: Array<{ file: string; reason: string }>;
}

/**
 * The key an image reference has in the index: fully qualified, `:latest` when it has neither tag nor
 * digest (`nginx:1.2-patched` -> `docker.io/library/nginx:1.2-patched`). Throws like parseReference.
 */
export function artifactKey(reference: string): string {
  return formatReference(withDefaultTag(parseReference(reference)));
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== undefined && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/** The ArtifactName of one report file, or why it has none usable. */
async function readArtifactName(file: string): Promise<{ name: string } | { reason: string }> {
  let info;
  try {
    info = await stat(file);
  } catch (err) {
    return { reason: `cannot read it: ${errorText(err)}` };
  }
  if (!info.isFile()) return { reason: 'not a regular file' };
  if (info.size > MAX_REPORT_BYTES) {
    return { reason: `larger than ${MAX_REPORT_BYTES / (1024 * 1024)} MiB (${info.size} bytes)` };
  }
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { reason: `cannot read it: ${errorText(err)}` };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { reason: `not valid JSON: ${errorText(err)}` };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { reason: 'not a JSON object' };
  }
  const fields = doc as Record<string, unknown>;
  // Copa's reader also accepts the field name in another case (Go's JSON matching)
  const field =
    'ArtifactName' in fields
      ? 'ArtifactName'
      : Object.keys(fields).find((k) => k.toLowerCase() === 'artifactname');
  const name = field === undefined ? undefined : fields[field];
  if (name === undefined || name === null) return { reason: 'no ArtifactName field' };
  if (typeof name !== 'string' || name === '') return { reason: 'ArtifactName is not a non-empty string' };
  return { name };
}

/**
 * Index the top-level `*.json` files of `dir` (not recursive; sorted by name) by their normalised
 * ArtifactName. When two reports name the same image the later file (by name) wins, as in Copa, and the
 * earlier one is listed in `skipped`. A missing or unreadable directory is a CopaError USAGE.
 */
export async function indexReportsByArtifact(dir: string): Promise<ReportIndex> {
  let names: string[];
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    names = entries
      .filter((e) => !e.isDirectory() && e.name.endsWith('.json'))
      .map((e) => e.name)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : errorText(err);
    throw new CopaError('USAGE', `report directory ${dir}: ${why}`, {
      hint: 'in bulk mode -r names a directory of scan reports (*.json) of the patched images',
      cause: err,
    });
  }
  const byArtifact = new Map<string, string>();
  const skipped: ReportIndex['skipped'] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const result = await readArtifactName(file);
    if ('reason' in result) {
      skipped.push({ file, reason: result.reason });
      continue;
    }
    let key;
    try {
      key = artifactKey(result.name);
    } catch (err) {
      skipped.push({
        file,
        reason: `ArtifactName ${JSON.stringify(result.name)} is not an image reference: ${errorText(err)}`,
      });
      continue;
    }
    const earlier = byArtifact.get(key);
    if (earlier !== undefined) {
      skipped.push({
        file: earlier,
        reason: `${path.basename(file)} is a later report for the same image ${key}`,
      });
    }
    byArtifact.set(key, file);
  }
  return { byArtifact, skipped };
}
