import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { CopaError } from '../../errors.js';
import { digestHex, sha256 } from '../digest.js';
import { IndexSchema, parseJson, type Descriptor, type Index } from '../schemas.js';

/** Annotation naming an entry of index.json (what `skopeo … oci:DIR:NAME` selects). */
export const REF_NAME = 'org.opencontainers.image.ref.name';
export const LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
export const LAYOUT_VERSION = '1.0.0';
/** Manifests, indexes and configs are small; refuse to buffer anything bigger than this. */
const MAX_JSON_BLOB = 16 * 1024 * 1024;

const LayoutFileSchema = z.looseObject({ imageLayoutVersion: z.string() });

/** OCI ref.name grammar (image-spec annotations): components of [A-Za-z0-9]+ joined by [-._:@+] or `--`, split by `/`. */
const REF_NAME_RE =
  /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/;

export function isValidRefName(name: string): boolean {
  return REF_NAME_RE.test(name);
}

export function blobPath(dir: string, digest: string): string {
  return join(dir, 'blobs', 'sha256', digestHex(digest));
}

function notLayout(dir: string, why: string, cause?: unknown): CopaError {
  return new CopaError('NOT_FOUND', `${dir} is not an OCI image layout: ${why}`, {
    cause,
    hint: 'point at a directory containing oci-layout, index.json and blobs/ (e.g. written by --oci-dir or skopeo copy … oci:DIR)',
  });
}

async function readSmall(path: string, dir: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw notLayout(
      dir,
      `cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      e,
    );
  }
}

/** Check `oci-layout` and return the parsed index.json. */
export async function readLayoutIndex(dir: string): Promise<Index> {
  const layout = parseJson(
    LayoutFileSchema,
    await readSmall(join(dir, LAYOUT_FILE), dir, LAYOUT_FILE),
    `${dir}/oci-layout`,
  );
  if (!layout.imageLayoutVersion.startsWith('1.')) {
    throw notLayout(dir, `unsupported imageLayoutVersion ${JSON.stringify(layout.imageLayoutVersion)}`);
  }
  return parseJson(IndexSchema, await readSmall(join(dir, INDEX_FILE), dir, INDEX_FILE), `${dir}/index.json`);
}

/** A small JSON blob (manifest, index, config), size- and digest-verified. */
export async function readJsonBlob(
  dir: string,
  desc: Pick<Descriptor, 'digest' | 'size'>,
  what: string,
): Promise<Buffer> {
  if (desc.size > MAX_JSON_BLOB) {
    throw new CopaError(
      'REGISTRY',
      `${what} ${desc.digest} is ${desc.size} bytes, larger than the ${MAX_JSON_BLOB} allowed`,
    );
  }
  let data: Buffer;
  try {
    data = await readFile(blobPath(dir, desc.digest));
  } catch (e) {
    throw new CopaError('NOT_FOUND', `${what} ${desc.digest} is missing from ${dir}`, {
      cause: e,
      hint: 'the OCI layout is incomplete; copy it again from its source',
    });
  }
  const got = sha256(data);
  if (data.length !== desc.size || got !== desc.digest) {
    throw new CopaError(
      'DIGEST_MISMATCH',
      `${what} ${desc.digest} in ${dir} does not match its digest (got ${got}, ${data.length} bytes)`,
      {
        hint: 'the OCI layout is corrupt; copy it again from its source',
      },
    );
  }
  return data;
}
