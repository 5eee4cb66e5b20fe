/**
 * The documents of one delivered image: the VEX document (-o FILE, --attach), the SBOM (--sbom FILE,
 * --attach), and with --attach both pushed as referrers of the pushed manifest.
 */
import type { Logger } from '../log.js';
import type { Image } from '../oci/image.js';
import { formatReference, type ImageReference } from '../oci/reference.js';
import type { RegistryClient } from '../oci/registry/client.js';
import type { UpdateManifest, UpdatePackage } from '../report/types.js';
import type { ImageInventory } from '../sbom/index.js';
import { buildOpenVex, writeVex } from '../vex/index.js';
import { attachReferrers } from './attach.js';
import type { ResolvedPatchOptions } from './options.js';
import type { AttachedReferrer } from './result.js';
import { emitSbom, sbomDocument } from './sbom.js';
import type { Delivered } from './delivery.js';

/** What a VEX document of an image states: the updates that passed validation, and the failed names. */
export interface VexFacts {
  validated: UpdatePackage[];
  failedNames: Set<string>;
}

/** Names of the packages whose update failed validation: never stated as fixed in a VEX document. */
export function vexFacts(
  applied: { validated?: UpdatePackage[] | undefined; failed?: Array<{ name: string }> | undefined },
  libraries: { validated?: UpdatePackage[] | undefined; failed: Array<{ name: string }> } | undefined,
): VexFacts {
  return {
    validated: [...(applied.validated ?? []), ...(libraries?.validated ?? [])],
    failedNames: new Set([...(applied.failed ?? []), ...(libraries?.failed ?? [])].map((f) => f.name)),
  };
}

export async function emitDocuments(
  ctx: { opts: ResolvedPatchOptions; client: RegistryClient; logger: Logger },
  run: {
    target: ImageReference;
    image: Image;
    delivered: Delivered;
    report: UpdateManifest | undefined;
    facts: VexFacts;
    base: { name: string; digest: string };
    inventory: (digest: string) => ImageInventory;
  },
): Promise<AttachedReferrer[] | undefined> {
  const { opts, client, logger } = ctx;
  const { target, image, delivered, report, facts } = run;
  const vex =
    (opts.vexOutput || opts.attach) && report && delivered.digest && facts.validated.length > 0
      ? buildOpenVex({
          imageRef: formatReference(target),
          imageDigest: delivered.digest,
          manifest: report,
          validated: facts.validated,
          failedNames: facts.failedNames,
        })
      : undefined;
  if (opts.vexOutput && vex) {
    await writeVex(opts.vexOutput, vex);
    logger.info(`Wrote VEX document ${opts.vexOutput} (${vex.statements.length} statement(s))`);
  }
  const digest = delivered.digest ?? (await image.digest());
  const sbomOf = { name: formatReference(target), digest, base: run.base };
  await emitSbom(opts, sbomOf, [run.inventory(digest)], logger);
  if (!opts.attach || delivered.kind !== 'registry') return undefined;
  const subject = { mediaType: image.mediaType, digest, size: (await image.rawManifest()).length };
  const sbom = sbomDocument(opts, sbomOf, [run.inventory(digest)]);
  return attachReferrers(client, target, [{ subject, sbom, sbomFormat: opts.sbomFormat, vex }], logger);
}
