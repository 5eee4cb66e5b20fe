/**
 * Checks an npm tarball (made by `npm pack` inside the sandbox, read back here) before anything extracts
 * it: only plain files and directories under one top directory (`package/`), no absolute paths, no `..`,
 * no links or devices, no setuid/setgid bits; reads its package.json.
 */
import { gunzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { depMap, parseManifest } from './names.js';

const MAX_BYTES = 512 << 20;

export interface PackedPackage {
  /** the top directory of every entry (npm: `package`) */
  top: string;
  name: string;
  version: string;
  dependencies: Record<string, string>;
  optionalDependencies: Record<string, string>;
  /** `bin` targets, relative to the package dir (npm makes them executable when it installs) */
  bin: string[];
  entries: number;
}

/** The `bin` field's targets as safe relative paths (`./x` -> `x`; `..` or absolute ones dropped). */
export function binTargets(bin: unknown): string[] {
  const raw =
    typeof bin === 'string' ? [bin] : bin !== null && typeof bin === 'object' ? Object.values(bin) : [];
  const out: string[] = [];
  for (const b of raw) {
    if (typeof b !== 'string' || b.startsWith('/')) continue;
    const segs = b.split('/').filter((x) => x !== '' && x !== '.');
    if (segs.length > 0 && !segs.includes('..') && !b.includes('\0')) out.push(segs.join('/'));
  }
  return [...new Set(out)];
}

export class BadTarball extends Error {}

function checkName(raw: string): string[] {
  if (raw.includes('\0') || raw.includes('\\'))
    throw new BadTarball(`entry ${JSON.stringify(raw)}: bad characters`);
  if (raw.startsWith('/')) throw new BadTarball(`entry ${JSON.stringify(raw)}: absolute path`);
  const segs = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (segs.includes('..')) throw new BadTarball(`entry ${JSON.stringify(raw)}: contains ..`);
  if (segs.length === 0) throw new BadTarball(`entry ${JSON.stringify(raw)}: empty name`);
  return segs;
}

/** Validate every entry of a .tgz and return what it holds; throws BadTarball. */
export async function inspectTarball(tgz: Buffer): Promise<PackedPackage> {
  let data: Buffer;
  try {
    data = gunzipSync(tgz, { maxOutputLength: MAX_BYTES });
  } catch (e) {
    throw new BadTarball(`not a gzip tarball: ${(e as Error).message}`);
  }
  const extract = tar.extract();
  Readable.from([data]).pipe(extract);
  let top: string | undefined;
  let manifest: Buffer | undefined;
  let entries = 0;
  for await (const entry of extract) {
    const h = entry.header;
    const segs = checkName(h.name);
    if (h.type !== 'file' && h.type !== 'directory' && h.type !== 'contiguous-file') {
      entry.resume();
      throw new BadTarball(`entry ${JSON.stringify(h.name)}: ${h.type ?? 'unknown type'} not allowed`);
    }
    if (((h.mode ?? 0) & 0o6000) !== 0)
      throw new BadTarball(`entry ${JSON.stringify(h.name)}: setuid/setgid bit`);
    const first = segs[0] ?? '';
    if (top === undefined) top = first;
    if (first !== top) throw new BadTarball(`entries under two top directories: ${top}/ and ${first}/`);
    if (segs.length === 1 && h.type !== 'directory')
      throw new BadTarball(`entry ${JSON.stringify(h.name)}: not under ${top}/`);
    entries++;
    if (segs.length === 2 && segs[1] === 'package.json' && h.type !== 'directory') {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      manifest = Buffer.concat(chunks);
    } else {
      entry.resume();
    }
  }
  if (top !== 'package')
    throw new BadTarball(`top directory is ${top === undefined ? 'missing' : `${top}/`}, not package/`);
  const m = parseManifest(manifest);
  if (typeof m?.name !== 'string' || typeof m.version !== 'string') {
    throw new BadTarball('package/package.json missing or without name and version');
  }
  return {
    top,
    name: m.name,
    version: m.version,
    dependencies: depMap(m.dependencies),
    optionalDependencies: depMap(m.optionalDependencies),
    bin: binTargets(m.bin),
    entries,
  };
}
