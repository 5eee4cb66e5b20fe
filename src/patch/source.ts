import { CopaError } from '../errors.js';
import type { Image } from '../oci/image.js';
import {
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  parsePlatform,
  platformEquals,
  selectManifest,
} from '../oci/platform.js';
import { formatReference, type ImageReference } from '../oci/reference.js';
import type { RegistryClient } from '../oci/registry/client.js';
import { fetchRemote } from '../oci/registry/remote.js';
import type { Platform } from '../oci/schemas.js';
import type { UpdateManifest } from '../report/types.js';

/**
 * The platform to patch: `--platform`, else the report's architecture (a deliberate fix of Copa, which
 * uses the host platform for a report file, issue #1149), else the host's.
 */
export function wantedPlatform(report: UpdateManifest | undefined, platform: string | undefined): Platform {
  if (platform) return normalizePlatform(parsePlatform(platform));
  if (report?.arch) {
    return normalizePlatform({
      os: 'linux',
      architecture: report.arch,
      ...(report.variant ? { variant: report.variant } : {}),
    });
  }
  return hostPlatform();
}

export async function resolveSourceImage(
  client: RegistryClient,
  ref: ImageReference,
  report: UpdateManifest | undefined,
  platformFlag: string | undefined,
): Promise<{ image: Image; platform: Platform }> {
  const want = wantedPlatform(report, platformFlag);
  const fetched = await fetchRemote(client, ref);
  let image: Image;
  if (fetched.kind === 'index') {
    const desc = selectManifest(await fetched.index.index(), want, formatReference(ref));
    image = await fetched.index.image(desc);
  } else {
    image = fetched.image;
  }
  const cfg = await image.config();
  const have = normalizePlatform({
    os: cfg.os,
    architecture: cfg.architecture,
    ...(cfg.variant ? { variant: cfg.variant } : {}),
  });
  if ((report || platformFlag) && !platformEquals(have, want)) {
    throw new CopaError(
      'PLATFORM',
      `${report && !platformFlag ? 'the report is' : '--platform asks'} for ${formatPlatform(want)} but ${formatReference(ref)} is ${formatPlatform(have)}`,
      { hint: 'scan the image for its own platform, or pick the matching --platform' },
    );
  }
  return { image, platform: have };
}
