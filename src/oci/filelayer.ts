import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { CopaError } from '../errors.js';
import { assertDigest, DigestStream } from './digest.js';
import type { Layer } from './image.js';
import type { Descriptor } from './schemas.js';

export interface FileLayerSpec {
  /** the stored (possibly compressed) blob */
  path: string;
  digest: string;
  diffID: string;
  size: number;
  mediaType: string;
  annotations?: Record<string, string>;
  /** the full original descriptor (urls, annotations...) when the blob came from a manifest */
  descriptor?: Descriptor;
}

/** A Layer whose bytes are read from a local file and digest/size-verified while streaming. */
export function fileLayer(spec: FileLayerSpec): Layer {
  assertDigest(spec.digest, 'layer digest');
  assertDigest(spec.diffID, 'layer diffID');
  const descriptor: Descriptor = spec.descriptor ?? {
    mediaType: spec.mediaType,
    digest: spec.digest,
    size: spec.size,
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
  };
  return {
    digest: spec.digest,
    diffID: spec.diffID,
    size: spec.size,
    mediaType: spec.mediaType,
    descriptor,
    async compressed(): Promise<Readable> {
      try {
        const st = await stat(spec.path);
        if (!st.isFile()) throw new Error('not a regular file');
      } catch (e) {
        throw new CopaError(
          'NOT_FOUND',
          `layer ${spec.digest} cannot be read from ${spec.path}: ${(e as Error).message}`,
          {
            cause: e,
            hint: 'the file backing this layer was removed or is unreadable',
          },
        );
      }
      const verify = new DigestStream({ digest: spec.digest, size: spec.size, what: `layer ${spec.digest}` });
      // pipeline destroys `verify` with the read error when the file fails mid-way
      return pipeline(createReadStream(spec.path), verify, () => undefined);
    },
  };
}
