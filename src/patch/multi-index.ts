import type { Image, ImageIndex } from '../oci/image.js';
import { sha256 } from '../oci/digest.js';
import { isAttestation } from '../oci/platform.js';
import type { Descriptor, Index } from '../oci/schemas.js';
import type { MultiPlan } from './flow.js';
import { ANNOTATION_CREATED, timestamp } from './image.js';

/**
 * The new index: patched descriptors replace their originals (platform and annotations kept, `created`
 * refreshed), preserved platforms keep theirs byte for byte; attestation manifests of patched platforms are
 * dropped (they describe the old image), those of preserved platforms kept.
 */
export function buildIndex(
  plan: MultiPlan,
  patched: Array<{ desc: Descriptor; image: Image }>,
  extra: Record<string, string> = {},
): ImageIndex {
  const now = timestamp();
  // keyed by the descriptor itself: two entries may share a digest (e.g. an attestation and its subject)
  const byDesc = new Map(patched.map((p) => [p.desc, p.image]));
  const patchedDigests = new Set(patched.map((p) => p.desc.digest));
  const built = (async () => {
    const manifests: Descriptor[] = [];
    const images = new Map<string, Image>();
    for (const d of plan.raw.manifests) {
      const img = byDesc.get(d);
      if (img) {
        const raw = await img.rawManifest();
        const digest = sha256(raw);
        images.set(digest, img);
        manifests.push({
          ...d,
          mediaType: img.mediaType,
          digest,
          size: raw.length,
          annotations: { ...(d.annotations ?? {}), ...(d.annotations ? { [ANNOTATION_CREATED]: now } : {}) },
        });
        if (!d.annotations) delete manifests[manifests.length - 1]?.annotations;
        continue;
      }
      const subject = d.annotations?.['vnd.docker.reference.digest'];
      if (isAttestation(d) && subject && patchedDigests.has(subject)) continue;
      manifests.push(d);
    }
    const index: Index = {
      ...plan.raw,
      manifests,
      annotations: {
        ...(plan.raw.annotations ?? {}),
        ...extra,
        [ANNOTATION_CREATED]: now,
        'sh.copa.patched': now,
      },
    };
    const raw = Buffer.from(JSON.stringify(index));
    return { index, raw, images };
  })();
  return {
    mediaType: plan.index.mediaType,
    rawManifest: async () => (await built).raw,
    index: async () => (await built).index,
    digest: async () => sha256((await built).raw),
    image: async (desc) => (await built).images.get(desc.digest) ?? plan.index.image(desc),
  };
}
