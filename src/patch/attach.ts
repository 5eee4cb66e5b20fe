/**
 * --attach: after the patched image (or index) is pushed, its SBOM and VEX document go to the same
 * repository as OCI referrers of the patched manifest(s). A failure here leaves the pushed image as it is
 * and says so.
 */
import { CopaError } from '../errors.js';
import type { Logger } from '../log.js';
import { MediaType } from '../oci/mediatypes.js';
import { formatReference, type ImageReference } from '../oci/reference.js';
import type { RegistryClient } from '../oci/registry/client.js';
import { artifactManifest, copyReferrers, listReferrers, pushReferrer } from '../oci/registry/referrers.js';
import type { Descriptor } from '../oci/schemas.js';
import { serializeSbom, type SbomDocument } from '../sbom/index.js';
import { serializeVex, type OpenVexDocument } from '../vex/index.js';
import { ANNOTATION_CREATED, timestamp } from './image.js';
import type { ResolvedPatchOptions } from './options.js';
import type { AttachedReferrer } from './result.js';

/** --attach without --push is a usage error before any work. */
export function checkAttach(opts: Pick<ResolvedPatchOptions, 'attach' | 'push' | 'dryRun'>): void {
  if (!opts.attach || opts.push || opts.dryRun) return;
  throw new CopaError('USAGE', '--attach needs --push (referrers live in a registry)', {
    hint: 'add --push, or drop --attach and write the documents with --sbom FILE / -o FILE',
  });
}

/** What to attach to one patched manifest. */
export interface AttachItem {
  subject: Descriptor;
  platform?: string;
  sbom?: SbomDocument;
  sbomFormat: ResolvedPatchOptions['sbomFormat'];
  vex?: OpenVexDocument | undefined;
}

/** The pieces to push for one item: the SBOM first, then the VEX document. */
export function artifactsOf(item: AttachItem, created: string) {
  const annotations = { [ANNOTATION_CREATED]: created };
  const out = [];
  if (item.sbom) {
    out.push(
      artifactManifest({
        artifactType: item.sbomFormat === 'spdx' ? MediaType.Spdx : MediaType.CycloneDx,
        document: Buffer.from(serializeSbom(item.sbom)),
        subject: item.subject,
        annotations,
      }),
    );
  }
  if (item.vex) {
    out.push(
      artifactManifest({
        artifactType: MediaType.OpenVex,
        document: Buffer.from(serializeVex(item.vex)),
        subject: item.subject,
        annotations,
      }),
    );
  }
  return out;
}

/**
 * Push every item's artifacts, then list the referrers of each subject back from the registry and return
 * the ones this run pushed as the registry lists them (a referrer missing from the listing is an error).
 */
export async function attachReferrers(
  client: RegistryClient,
  target: ImageReference,
  items: AttachItem[],
  logger: Logger,
): Promise<AttachedReferrer[]> {
  const repo = { registry: target.registry, repository: target.repository };
  const created = timestamp();
  const out: AttachedReferrer[] = [];
  await afterPush(target, items[0]?.subject.digest, async () => {
    for (const item of items) {
      const pushed = [];
      for (const artifact of artifactsOf(item, created))
        pushed.push(await pushReferrer(client, repo, artifact, item.subject.digest));
      const listed = await listReferrers(client, repo, item.subject.digest);
      for (const p of pushed) {
        const found = listed.manifests.find((d) => d.digest === p.digest);
        if (!found) {
          throw new CopaError('REGISTRY', `referrer ${p.digest} is not listed for ${item.subject.digest}`, {
            hint: `the registry did not keep the ${listed.via === 'tag-schema' ? 'fallback tag' : 'referrers index'}; retry`,
          });
        }
        out.push({
          artifactType: found.artifactType ?? p.artifactType,
          digest: p.digest,
          subject: p.subject,
          via: listed.via,
          action: 'attached',
          ...(item.platform ? { platform: item.platform } : {}),
        });
        logger.info(
          `Attached ${found.artifactType ?? p.artifactType} ${p.digest} to ${item.subject.digest} (${listed.via})`,
        );
      }
    }
  });
  return out;
}

/**
 * Preserved platforms keep their digests: when the patched index goes to another repository, their
 * referrers (signatures, attestations, SBOMs) are copied there so that they still find their subject.
 */
export async function copyPreservedReferrers(
  client: RegistryClient,
  source: ImageReference,
  target: ImageReference,
  preserved: Array<{ digest: string; platform: string }>,
  logger: Logger,
): Promise<AttachedReferrer[]> {
  const from = { registry: source.registry, repository: source.repository };
  const to = { registry: target.registry, repository: target.repository };
  if (from.registry === to.registry && from.repository === to.repository) return [];
  const out: AttachedReferrer[] = [];
  await afterPush(target, undefined, async () => {
    for (const p of preserved) {
      for (const c of await copyReferrers(client, from, to, p.digest)) {
        out.push({ ...c, action: 'copied', platform: p.platform });
        logger.info(`Copied referrer ${c.digest} of ${p.platform} (${c.artifactType || 'no artifactType'})`);
      }
    }
  });
  return out;
}

/** Run `fn`; its failure says that the patched image was pushed and stays. */
async function afterPush(target: ImageReference, digest: string | undefined, fn: () => Promise<void>) {
  try {
    await fn();
  } catch (err) {
    const e = err instanceof CopaError ? err : new CopaError('INTERNAL', String(err));
    const where = `${formatReference(target)}${digest ? ` (${digest})` : ''}`;
    throw new CopaError(e.code, `--attach failed: ${e.message}`, {
      hint: `the patched image ${where} was pushed and stays; fix the cause and run again, or drop --attach`,
      cause: err,
    });
  }
}
