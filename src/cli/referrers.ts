/**
 * `copa referrers IMAGE`: the OCI referrers (SBOMs, VEX documents, signatures) of an image, as a client
 * finds them: the registry's referrers API, else the `sha256-<hex>` fallback tag. For an index, also those
 * of each platform manifest (where `copa patch --attach` puts its documents).
 */
import { Command } from 'commander';
import { silentLogger } from '../log.js';
import { isIndexMediaType } from '../oci/mediatypes.js';
import { formatPlatform } from '../oci/platform.js';
import { parseReference, withDefaultTag } from '../oci/reference.js';
import { listReferrers } from '../oci/registry/referrers.js';
import { IndexSchema, parseJson, type Descriptor } from '../oci/schemas.js';
import { newRegistryClient } from '../patch/client.js';
import { asUsage } from '../patch/validate.js';
import { tableLines } from './table.js';

interface Listed {
  subject: string;
  platform?: string;
  via: 'referrers-api' | 'tag-schema';
  referrers: Descriptor[];
}

export function referrersCommand(): Command {
  return new Command('referrers')
    .description('List the OCI referrers (SBOM, VEX, signatures) of an image and of its platform manifests')
    .argument('<image>', 'image reference (tag or digest)')
    .option('--insecure-registry <host>', 'use plain HTTP for this registry (repeatable)', collect, [])
    .option('--json', 'print the listing as JSON', false)
    .action(async (image: string, o: { insecureRegistry: string[]; json: boolean }) => {
      let ref = asUsage('IMAGE', () => parseReference(image));
      if (!ref.tag && !ref.digest) ref = withDefaultTag(ref);
      const repo = { registry: ref.registry, repository: ref.repository };
      const client = newRegistryClient({ insecureRegistries: o.insecureRegistry }, silentLogger);
      try {
        const top = await client.getManifest(repo, ref.digest ?? ref.tag ?? 'latest');
        const subjects: Array<{ digest: string; platform?: string }> = [{ digest: top.digest }];
        if (isIndexMediaType(top.mediaType)) {
          for (const d of parseJson(IndexSchema, top.bytes, 'index').manifests) {
            if (!d.platform) continue;
            subjects.push({ digest: d.digest, platform: formatPlatform(d.platform) });
          }
        }
        const out: Listed[] = [];
        for (const s of subjects) {
          const listed = await listReferrers(client, repo, s.digest);
          const where = s.platform ? { platform: s.platform } : {};
          out.push({ subject: s.digest, ...where, via: listed.via, referrers: listed.manifests });
        }
        if (o.json) {
          process.stdout.write(JSON.stringify(out, null, 2) + '\n');
          return;
        }
        const rows = [['SUBJECT', 'PLATFORM', 'REFERRER', 'ARTIFACT TYPE', 'FOUND VIA']];
        for (const l of out) {
          for (const r of l.referrers) {
            rows.push([
              l.subject.slice(0, 19),
              l.platform ?? '',
              r.digest.slice(0, 19),
              r.artifactType ?? '',
              l.via,
            ]);
          }
        }
        const count = out.reduce((n, l) => n + l.referrers.length, 0);
        if (count > 0) process.stdout.write(tableLines(rows).join('\n') + '\n');
        process.stdout.write(`${count} referrer(s) of ${image} (${top.digest})\n`);
      } finally {
        await client.close();
      }
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
