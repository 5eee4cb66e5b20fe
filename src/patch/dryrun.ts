/**
 * `--dry-run` without root: nothing is mounted. The image is resolved and its layers are read as tar
 * streams (never extracted) for the dpkg database (`var/lib/dpkg/status`, or `status.d/` of distroless
 * images) and `etc/os-release`; the plan compares the report with the installed versions. The package
 * manager's simulation needs the image mounted, so the plan shows the report's fixed versions and says
 * that apt did not check them. Update-all needs that simulation: refused, with the way to run it.
 */
import { CopaError } from '../errors.js';
import type { Logger } from '../log.js';
import { decompress } from '../layers/decompress.js';
import { readTar } from '../layers/tar-reader.js';
import type { Layer } from '../oci/image.js';
import { formatPlatform } from '../oci/platform.js';
import { formatReference, type ImageReference } from '../oci/reference.js';
import type { RegistryClient } from '../oci/registry/client.js';
import { parseDpkgStatus } from '../pkgmgr/dpkg/parse.js';
import { uniqueLatestUpdates, validatePackageName } from '../pkgmgr/common/index.js';
import type { UpdateManifest } from '../report/types.js';
import { debVersion } from '../version/deb.js';
import { osFromRelease } from './os.js';
import type { ResolvedPatchOptions } from './options.js';
import { selectUpdates, type PatchPlan } from './plan.js';
import type { PatchResult } from './result.js';
import { resolveSourceImage } from './source.js';

export const NOT_SIMULATED =
  'not root: the plan compares the report with the installed versions; apt did not simulate it (run as root for that)';

const WANTED =
  /^(var\/lib\/dpkg\/status|var\/lib\/dpkg\/status\.d\/[^/]+|etc\/os-release|usr\/lib\/os-release)$/;

/** The files we look for, as the stacked layers show them (later layers win; whiteouts remove). */
export async function readFilesFromLayers(layers: readonly Layer[]): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const layer of layers) {
    for await (const { header, body } of readTar(decompress(await layer.compressed()))) {
      const name = header.name.replace(/^\.?\/+/, '').replace(/\/+$/, '');
      const slash = name.lastIndexOf('/');
      const dir = slash === -1 ? '' : name.slice(0, slash);
      const base = name.slice(slash + 1);
      if (base === '.wh..wh..opq') {
        for (const k of [...files.keys()]) if (k.startsWith(`${dir}/`)) files.delete(k);
      } else if (base.startsWith('.wh.')) {
        const gone = `${dir ? `${dir}/` : ''}${base.slice(4)}`;
        for (const k of [...files.keys()]) if (k === gone || k.startsWith(`${gone}/`)) files.delete(k);
      } else if (header.type === 'file' && WANTED.test(name)) {
        const chunks: Buffer[] = [];
        for await (const c of body) chunks.push(c);
        files.set(name, Buffer.concat(chunks));
      } else if (header.type !== 'dir') {
        // anything else at a wanted path (a symlink, a device) replaces what was there
        for (const k of [...files.keys()]) if (k === name || k.startsWith(`${name}/`)) files.delete(k);
      }
    }
  }
  return files;
}

function installedFrom(files: Map<string, Buffer>): Map<string, string> | undefined {
  const status = files.get('var/lib/dpkg/status');
  if (status) return parseDpkgStatus(status.toString('utf8'));
  const parts = [...files].filter(([k]) => k.startsWith('var/lib/dpkg/status.d/') && !k.endsWith('.md5sums'));
  if (parts.length === 0) return undefined;
  return parseDpkgStatus(parts.map(([, v]) => v.toString('utf8')).join('\n\n'));
}

export async function dryRunWithoutRoot(
  opts: ResolvedPatchOptions,
  env: {
    client: RegistryClient;
    source: ImageReference;
    target: ImageReference;
    report: UpdateManifest | undefined;
    logger: Logger;
  },
): Promise<PatchResult> {
  const { client, source, target, report, logger } = env;
  if (!report) {
    throw new CopaError('ENVIRONMENT', '--dry-run without a report needs root: apt computes the upgrades', {
      hint: 'run it with sudo, or give a scanner report (-r) for a rootless plan',
    });
  }
  const { image, platform } = await resolveSourceImage(client, source, report, opts.platforms[0]);
  logger.info(
    `Reading the package database from the layers of ${formatReference(source)} (not root: nothing is mounted)`,
  );
  const files = await readFilesFromLayers(await image.layers());
  const installed = installedFrom(files);
  if (!installed) {
    throw new CopaError(
      'ENVIRONMENT',
      `--dry-run without root reads Debian-family images only (no dpkg database in ${formatReference(source)})`,
      {
        hint: 'run it as root (sudo) to plan with the image’s own package manager',
      },
    );
  }
  const release = files.get('etc/os-release') ?? files.get('usr/lib/os-release');
  const fromImage = release ? osFromRelease(release.toString('utf8')) : undefined;
  const required = uniqueLatestUpdates(report.osUpdates, debVersion, {
    ignoreErrors: opts.ignoreErrors,
    logger,
  });
  for (const u of required) validatePackageName(u.name);
  const sel = selectUpdates(required, installed, debVersion);
  const fixed = new Map(required.map((u) => [u.name, u.fixedVersion]));
  const plan: PatchPlan = {
    mode: 'report',
    image: formatReference(source),
    target: formatReference(target),
    platform: formatPlatform(platform),
    os: fromImage ?? { type: report.os.type, version: report.os.version },
    alreadyFixed: sel.alreadyFixed,
    notInstalled: sel.notInstalled,
    held: [],
    updates: sel.names.map((name) => ({ name, from: installed.get(name), to: fixed.get(name) ?? '' })),
    note: NOT_SIMULATED,
  };
  logger.warn(NOT_SIMULATED);
  return {
    status: plan.updates.length === 0 ? 'Up-to-date' : 'DryRun',
    image: formatReference(source),
    platform: formatPlatform(platform),
    plan,
    output: { kind: 'none' },
  };
}
