import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import { DigestStream } from '../oci/digest.js';
import type { Layer } from '../oci/image.js';
import { explainByDigest } from './corrupt.js';

const good = Buffer.from('a layer blob');
const digest = `sha256:${createHash('sha256').update(good).digest('hex')}`;

/** A layer whose stored bytes are `bytes` (digest-verified against `digest`, as real layers are). */
function layerServing(bytes: Buffer): Layer {
  return {
    digest,
    diffID: digest,
    size: good.length,
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    descriptor: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: good.length },
    compressed: () =>
      Promise.resolve(
        Readable.from([bytes]).pipe(new DigestStream({ digest, size: good.length, what: 'blob' })),
      ),
  };
}

const unsafe = new CopaError('UNSAFE_LAYER', 'malformed tar: checksum too large');

describe('explainByDigest', () => {
  it('reports a parse failure of a corrupt download as DIGEST_MISMATCH', async () => {
    const corrupt = Buffer.from(good);
    corrupt[0] = (corrupt[0] ?? 0) ^ 0xff;
    const err = await explainByDigest(layerServing(corrupt), unsafe);
    expect(err.code).toBe('DIGEST_MISMATCH');
  });

  it('keeps UNSAFE_LAYER when the bytes are the ones the digest names', async () => {
    expect(await explainByDigest(layerServing(good), unsafe)).toBe(unsafe);
  });

  it('leaves other errors alone without reading the blob again', async () => {
    const timeout = new CopaError('TIMEOUT', 'patch exceeded timeout 8s');
    const layer = { ...layerServing(good), compressed: () => Promise.reject(new Error('not called')) };
    expect(await explainByDigest(layer, timeout)).toBe(timeout);
  });
});
