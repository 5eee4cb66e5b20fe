import { readFileSync } from 'node:fs';
import { CopaError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Image } from '../oci/image.js';
import { selectManifest } from '../oci/platform.js';
import { formatReference, parseReference } from '../oci/reference.js';
import type { RegistryClient } from '../oci/registry/client.js';
import { fetchRemote } from '../oci/registry/remote.js';
import type { Platform } from '../oci/schemas.js';

/**
 * Tooling-image rewriting for air-gapped use (instead of BuildKit source policies):
 * `COPA_TOOLING_IMAGE_MAP="from=to,from2=to2"` and/or `COPA_TOOLING_IMAGE_MAP_FILE=<file>` (JSON object or
 * `from=to` lines). A `from` ending in `/` rewrites every reference under that prefix
 * (`docker.io/library/=registry.corp/mirror/`); other entries match whole normalised references.
 */
export function toolingMap(env: NodeJS.ProcessEnv = process.env): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  const addLines = (text: string, where: string): void => {
    for (const raw of text.split(/[,\n]/)) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      const eq = line.indexOf('=');
      if (eq <= 0 || eq === line.length - 1) {
        throw new CopaError('USAGE', `${where}: ${JSON.stringify(line)} is not a from=to pair`, {
          hint: 'e.g. COPA_TOOLING_IMAGE_MAP="docker.io/library/=127.0.0.1:5000/mirror/"',
        });
      }
      pairs.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
    }
  };
  const file = env.COPA_TOOLING_IMAGE_MAP_FILE;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new CopaError(
        'USAGE',
        `cannot read COPA_TOOLING_IMAGE_MAP_FILE ${file}: ${(e as Error).message}`,
      );
    }
    if (text.trim().startsWith('{')) {
      for (const [k, v] of Object.entries(JSON.parse(text) as Record<string, unknown>)) {
        if (typeof v === 'string') pairs.push([k, v]);
      }
    } else addLines(text, file);
  }
  if (env.COPA_TOOLING_IMAGE_MAP) addLines(env.COPA_TOOLING_IMAGE_MAP, 'COPA_TOOLING_IMAGE_MAP');
  return pairs;
}

const normal = (ref: string): string => formatReference(parseReference(ref));

/** Apply the mapping to a tooling image reference (prefix rules on the normalised reference). */
export function mapToolingImage(ref: string, map: Array<[string, string]>): string {
  const n = normal(ref);
  for (const [from, to] of map) {
    if (from.endsWith('/')) {
      if (n.startsWith(from)) return n.replace(from, to);
      const nf =
        from.includes('.') || from.includes(':') || from.startsWith('localhost') ? from : `docker.io/${from}`;
      if (n.startsWith(nf)) return n.replace(nf, to);
    } else if (normal(from) === n) return normal(to);
  }
  return n;
}

/** Pull the first tooling image that resolves (after --tooling-image and the mapping) for `platform`. */
export async function resolveToolingImage(
  client: RegistryClient,
  candidates: string[],
  opts: { override?: string | undefined; platform: Platform; logger: Logger },
): Promise<{ ref: string; image: Image }> {
  const map = toolingMap();
  const refs = (opts.override ? [opts.override] : candidates).map((c) => mapToolingImage(c, map));
  const errors: string[] = [];
  for (const ref of refs) {
    try {
      const fetched = await fetchRemote(client, parseReference(ref));
      const image =
        fetched.kind === 'image'
          ? fetched.image
          : await fetched.index.image(selectManifest(await fetched.index.index(), opts.platform, ref));
      opts.logger.info(`Using tooling image ${ref}`);
      return { ref, image };
    } catch (e) {
      errors.push(`${ref}: ${(e as Error).message}`);
      opts.logger.debug(`tooling image ${ref} unavailable: ${(e as Error).message}`);
    }
  }
  throw new CopaError('NOT_FOUND', `no tooling image could be pulled (${errors.join('; ')})`, {
    hint: 'pass --tooling-image REF, or map tooling images to a reachable registry with COPA_TOOLING_IMAGE_MAP',
  });
}
