import { CopaError } from '../errors.js';
import type { Layer } from '../oci/image.js';

/**
 * A layer that fails to decompress or to parse as a tar may just be a corrupt download: flipped bytes
 * make gzip look like a plain (malformed) tar, and the blob's digest is only checked at its end, after
 * the parser has given up. Read the blob again to its end; when its bytes do not match its digest, that
 * DIGEST_MISMATCH is the error to report (a retry may fix it), not UNSAFE_LAYER. Other errors stay.
 */
export async function explainByDigest(layer: Layer, err: CopaError): Promise<CopaError> {
  if (err.code !== 'UNSAFE_LAYER' && err.code !== 'INTERNAL') return err;
  try {
    const stream = await layer.compressed();
    for await (const chunk of stream) void chunk; // the stream checks the digest at its end
  } catch (e) {
    if (e instanceof CopaError && e.code === 'DIGEST_MISMATCH') return e;
  }
  return err;
}
