import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { CopaError } from '../../src/errors.js';
import type { Image } from '../../src/oci/image.js';
import { parseReference } from '../../src/oci/reference.js';
import type { Credential } from '../../src/oci/registry/auth-config.js';
import { RegistryClient } from '../../src/oci/registry/client.js';
import { fetchRemote } from '../../src/oci/registry/remote.js';

/**
 * What a registry-fault scenario checks after it failed cleanly: the error is one typed line, the tag is
 * absent or points to a complete image (asked of the registry directly, not through the fault proxy).
 */

export async function digestOf(stream: NodeJS.ReadableStream): Promise<{ digest: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of stream) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}

/** The CopaError `p` rejects with; its message is one line. */
export async function caught(p: Promise<unknown>): Promise<CopaError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CopaError);
  const copa = err as CopaError;
  expect(copa.message).not.toContain('\n');
  return copa;
}

export async function image(client: RegistryClient, ref: string): Promise<Image> {
  const got = await fetchRemote(client, parseReference(ref));
  if (got.kind !== 'image') throw new Error(`${ref} is an index`);
  return got.image;
}

function directClient(credential?: Credential): RegistryClient {
  const credentials = credential ? { get: () => Promise.resolve(credential) } : undefined;
  return new RegistryClient({ credentials, retryBaseMs: 5 });
}

/** The registry itself has no manifest under `registry/repository:tag` (HEAD 404). */
export async function expectNoTag(ref: string, credential?: Credential): Promise<void> {
  const r = parseReference(ref);
  const client = directClient(credential);
  try {
    expect(await client.headManifest(r, r.tag ?? 'latest')).toBeUndefined();
  } finally {
    await client.close();
  }
}

/** The tag exists and every blob its manifest names is in the repository (HEAD 200). Returns its digest. */
export async function expectComplete(ref: string, credential?: Credential): Promise<string> {
  const r = parseReference(ref);
  const client = directClient(credential);
  try {
    const img = await image(client, ref);
    const manifest = await img.manifest();
    const digests = [manifest.config.digest, ...manifest.layers.map((l) => l.digest)];
    for (const d of digests) expect(await client.hasBlob(r, d), `${ref} blob ${d}`).toBe(true);
    return img.digest();
  } finally {
    await client.close();
  }
}
