/**
 * --attach for a multi-platform run: each patched platform manifest gets its own SBOM and VEX document
 * (the documents describe one image's packages; a scanner that resolves a platform looks at that
 * manifest's referrers), and the referrers of preserved platforms are copied when the target repository
 * is another one.
 */
import type { Image } from '../oci/image.js';
import { formatPlatform, normalizePlatform } from '../oci/platform.js';
import { formatReference, type ImageReference } from '../oci/reference.js';
import { buildOpenVex } from '../vex/index.js';
import { attachReferrers, copyPreservedReferrers, type AttachItem } from './attach.js';
import type { FlowEnv, MultiPlan, PatchedOne, PlatformEntry } from './flow.js';
import type { AttachedReferrer } from './result.js';
import { sbomDocument } from './sbom.js';

export async function attachMulti(
  env: FlowEnv,
  plan: MultiPlan,
  target: ImageReference,
  patched: Array<{ entry: PlatformEntry; one?: PatchedOne }>,
  platformTarget: (e: PlatformEntry) => ImageReference,
): Promise<AttachedReferrer[]> {
  const { opts, client, ctx } = env;
  const items: AttachItem[] = [];
  for (const { entry, one } of patched) {
    const image = one?.image as Image;
    const digest = await image.digest();
    const name = formatReference(platformTarget(entry));
    const base = one?.base ?? { name: formatReference(env.source), digest: entry.desc.digest };
    const vex =
      entry.report && one?.vex && one.vex.validated.length > 0
        ? buildOpenVex({
            imageRef: name,
            imageDigest: digest,
            manifest: entry.report,
            validated: one.vex.validated,
            failedNames: one.vex.failedNames,
          })
        : undefined;
    items.push({
      subject: { mediaType: image.mediaType, digest, size: (await image.rawManifest()).length },
      platform: formatPlatform(normalizePlatform(entry.platform)),
      ...(one?.inventory ? { sbom: sbomDocument(opts, { name, digest, base }, [one.inventory]) } : {}),
      sbomFormat: opts.sbomFormat,
      vex,
    });
  }
  const attached = await attachReferrers(client, target, items, ctx.logger);
  const preserved = plan.entries
    .filter((e) => e.action === 'preserve')
    .map((e) => ({ digest: e.desc.digest, platform: formatPlatform(normalizePlatform(e.platform)) }));
  const copied = await copyPreservedReferrers(client, env.source, target, preserved, ctx.logger);
  return [...attached, ...copied];
}
