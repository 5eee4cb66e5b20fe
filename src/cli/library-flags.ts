/**
 * Library patching flags (Copa's experimental ones, plus our package-index and CA flags). They are always
 * listed in --help, but the experimental ones need COPA_EXPERIMENTAL=1, as in Copa.
 */
import { Option, type Command } from 'commander';
import { CopaError } from '../errors.js';
import type { PatchOptions } from '../patch/options.js';

export interface LibraryFlags {
  pkgTypes?: string;
  libraryPatchLevel?: string;
  toolchainPatchLevel?: string | boolean;
  goVcsUrl?: string;
  pipIndexUrl?: string;
  npmRegistry?: string;
  goproxy?: string;
  caCerts?: string;
}

export function addLibraryOptions(cmd: Command): Command {
  return cmd
    .option('--pkg-types <types>', 'experimental: what to patch from the report: os, library, or os,library')
    .option(
      '--library-patch-level <level>',
      'experimental: how far a library may move: patch, minor or major',
    )
    .addOption(
      new Option(
        '--toolchain-patch-level [level]',
        'experimental: rebuild Go binaries for Go stdlib fixes (patch, minor or major)',
      ),
    )
    .option(
      '--go-vcs-url <url>',
      'experimental: source of Go binaries to rebuild (https://host/org/repo@ref)',
    )
    .option(
      '--pip-index-url <url>',
      'Python package index for library patching (default: $PIP_INDEX_URL, else the image’s pip.conf)',
    )
    .option(
      '--npm-registry <url>',
      'npm registry for library patching (default: $NPM_CONFIG_REGISTRY, else the image’s .npmrc)',
    )
    .option(
      '--goproxy <url>',
      'Go module proxy for library patching (default: $GOPROXY, else the image’s ENV GOPROXY)',
    )
    .option(
      '--ca-certs <file>',
      'extra CA certificates (PEM) for library downloads; never written into the image',
    );
}

const EXPERIMENTAL: Array<[keyof LibraryFlags, string]> = [
  ['pkgTypes', '--pkg-types'],
  ['libraryPatchLevel', '--library-patch-level'],
  ['toolchainPatchLevel', '--toolchain-patch-level'],
  ['goVcsUrl', '--go-vcs-url'],
];

function level(flag: string, value: string): 'patch' | 'minor' | 'major' {
  if (value === 'patch' || value === 'minor' || value === 'major') return value;
  throw new CopaError('USAGE', `${flag} must be patch, minor or major (got ${JSON.stringify(value)})`, {
    hint: `e.g. ${flag} minor`,
  });
}

/** Flags → patch options; experimental flags without COPA_EXPERIMENTAL=1 are a usage error. */
export function libraryOptions(
  flags: LibraryFlags,
  env: NodeJS.ProcessEnv = process.env,
): Partial<PatchOptions> {
  const experimental = env.COPA_EXPERIMENTAL === '1' || env.COPA_EXPERIMENTAL === 'true';
  for (const [key, flag] of EXPERIMENTAL) {
    if (flags[key] !== undefined && !experimental) {
      throw new CopaError('USAGE', `${flag} is experimental: set COPA_EXPERIMENTAL=1 to use it`, {
        hint: `COPA_EXPERIMENTAL=1 copa patch ... ${flag} ...`,
      });
    }
  }
  const out: Partial<PatchOptions> = {};
  if (flags.pkgTypes !== undefined) {
    const types = flags.pkgTypes.split(',').map((t) => t.trim());
    const bad = types.find((t) => t !== 'os' && t !== 'library');
    if (bad !== undefined || types.length === 0) {
      throw new CopaError('USAGE', `--pkg-types: unknown type ${JSON.stringify(bad ?? '')}`, {
        hint: 'use os, library, or os,library',
      });
    }
    out.pkgTypes = [...new Set(types)] as Array<'os' | 'library'>;
  }
  if (flags.libraryPatchLevel !== undefined) {
    out.libraryPatchLevel = level('--library-patch-level', flags.libraryPatchLevel);
  }
  if (flags.toolchainPatchLevel !== undefined) {
    out.toolchainPatchLevel =
      flags.toolchainPatchLevel === true
        ? 'patch'
        : level('--toolchain-patch-level', String(flags.toolchainPatchLevel));
  }
  if (flags.goVcsUrl !== undefined) out.goVcsUrl = flags.goVcsUrl;
  if (flags.pipIndexUrl !== undefined) out.pipIndexUrl = flags.pipIndexUrl;
  if (flags.npmRegistry !== undefined) out.npmRegistry = flags.npmRegistry;
  if (flags.goproxy !== undefined) out.goproxy = flags.goproxy;
  if (flags.caCerts !== undefined) out.caCerts = flags.caCerts;
  return out;
}
