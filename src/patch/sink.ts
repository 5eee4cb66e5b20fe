import type { Logger } from '../log.js';
import type { Image } from '../oci/image.js';
import { writeOciLayout } from '../oci/layout/write.js';
import { formatReference, type ImageReference } from '../oci/reference.js';
import type { RegistryClient } from '../oci/registry/client.js';
import { pushImage } from '../oci/registry/push.js';
import type { ResolvedPatchOptions } from './options.js';

export interface Delivered {
  kind: 'registry' | 'oci-layout';
  location: string;
  digest: string;
}

/** Write the patched image where the user asked: OCI layout (--oci-dir) and/or registry (--push). */
export async function deliver(
  image: Image,
  ctx: { opts: ResolvedPatchOptions; client: RegistryClient; target: ImageReference; logger: Logger },
): Promise<Delivered> {
  const { opts, target, logger } = ctx;
  let out: Delivered | undefined;
  if (opts.ociDir) {
    const refName = target.tag ?? 'latest';
    await writeOciLayout(opts.ociDir, [{ image, refName }]);
    out = { kind: 'oci-layout', location: `${opts.ociDir}:${refName}`, digest: await image.digest() };
    logger.info(`Wrote OCI layout ${out.location}`);
  }
  if (opts.push) {
    const pushed = await pushImage(ctx.client, image, target);
    out = { kind: 'registry', location: formatReference(target), digest: pushed.digest };
    logger.info(`Pushed ${out.location}@${pushed.digest}`);
  }
  if (!out) throw new Error('deliver: no output selected');
  return out;
}
