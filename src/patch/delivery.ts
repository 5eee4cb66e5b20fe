/** What delivering a patched image produced, and the hook that replaces delivery (`copa generate`). */
import type { Logger } from '../log.js';
import type { Image } from '../oci/image.js';
import type { ImageReference } from '../oci/reference.js';
import type { PatchResult } from './result.js';

export interface Delivered {
  kind: PatchResult['output']['kind'];
  location: string;
  /** manifest digest of what was written, when there is one */
  digest: string | undefined;
}

/** The new layer as written by the patch flow (gzip); its blob is readable until the flow returns. */
export interface NewLayer {
  digest: string;
  diffID: string;
  size: number;
  uncompressedSize: number;
  mediaType: string;
}

/**
 * Replaces the output step of a patch (push / OCI layout / local load), e.g. for `copa generate`.
 * `image`'s last layer is the new one; read it before returning (the work dir is removed afterwards).
 */
export type DeliverHook = (
  image: Image,
  ctx: { layer: NewLayer; target: ImageReference; logger: Logger; signal: AbortSignal },
) => Promise<Delivered>;
