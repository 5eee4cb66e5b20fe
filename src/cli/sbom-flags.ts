/**
 * `--sbom FILE` and `--sbom-format cyclonedx|spdx`: an SBOM of the patched image (single-image runs);
 * `--attach`: the SBOM and VEX document pushed as OCI referrers of the patched image.
 */
import { Option, type Command } from 'commander';
import { CopaError } from '../errors.js';
import type { PatchOptions } from '../patch/options.js';

export interface SbomFlags {
  sbom?: string;
  sbomFormat?: string;
  attach?: boolean;
}

export function addSbomOptions(cmd: Command): Command {
  return cmd
    .option(
      '--sbom <file>',
      'write an SBOM of the patched image (its packages at their new versions) to this file',
    )
    .addOption(
      new Option(
        '--sbom-format <format>',
        'SBOM format: cyclonedx (CycloneDX 1.6 JSON) or spdx (SPDX 2.3 JSON)',
      ).choices(['cyclonedx', 'spdx']),
    )
    .option(
      '--attach',
      'with --push: push the SBOM (and the VEX document, with -r) as OCI referrers of the patched image',
    );
}

/** Flags → patch options; `--sbom-format` alone is a usage error (it would silently do nothing). */
export function sbomOptions(flags: SbomFlags): Pick<PatchOptions, 'sbomOutput' | 'sbomFormat' | 'attach'> {
  if (flags.sbomFormat !== undefined && flags.sbom === undefined && !flags.attach) {
    throw new CopaError('USAGE', '--sbom-format needs --sbom FILE or --attach', {
      hint: 'add --sbom sbom.json',
    });
  }
  return {
    ...(flags.sbom !== undefined ? { sbomOutput: flags.sbom } : {}),
    ...(flags.sbomFormat !== undefined ? { sbomFormat: flags.sbomFormat as 'cyclonedx' | 'spdx' } : {}),
    ...(flags.attach ? { attach: true } : {}),
  };
}

/** Bulk runs patch many images: one --sbom file cannot hold them. */
export function noSbomInBulk(flags: SbomFlags, mode: string): void {
  if (flags.sbom === undefined && flags.sbomFormat === undefined && !flags.attach) return;
  throw new CopaError('USAGE', `${mode} cannot be combined with --sbom or --attach`, {
    hint: 'bulk runs write no SBOM: patch one image with -i ... --sbom FILE',
  });
}
