/**
 * What an RPM image holds (package managers, rpm, which package database) and the strategy Copa picks for it
 * (COPA-BEHAVIOUR §2.6). Reading the facts only lists directories: no command runs in the image, nothing big
 * is read.
 */
import { CopaError } from '../../errors.js';

export type RpmTool = 'tdnf' | 'dnf' | 'yum' | 'microdnf';
/** Copa's order of preference */
export const RPM_TOOLS: readonly RpmTool[] = ['tdnf', 'dnf', 'yum', 'microdnf'];

/** Berkeley DB (`Packages`), NDB (`Packages.db`), SQLite (`rpmdb.sqlite`), Mariner distroless manifests */
export type RpmDbKind = 'bdb' | 'ndb' | 'sqlite' | 'manifests';

export interface RpmFacts {
  /** package managers found on the PATH, in Copa's order of preference */
  tools: RpmTool[];
  /** the `rpm` binary is there */
  rpm: boolean;
  db: RpmDbKind | 'none' | 'mixed';
}

/** The read-only view of the image a probe needs (a sandbox session is one). */
export interface ImageFiles {
  readFile(path: string): Promise<Buffer | undefined>;
  list(path: string): Promise<string[] | undefined>;
}

const PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
export const RPMDB_DIR = '/var/lib/rpm';
export const MANIFEST_DIR = '/var/lib/rpmmanifest';

/** The database kind from the names in /var/lib/rpm and /var/lib/rpmmanifest (exactly one is expected). */
export function rpmDbKind(rpmDir: readonly string[], manifestDir: readonly string[]): RpmFacts['db'] {
  const kinds: RpmDbKind[] = [];
  if (rpmDir.includes('Packages')) kinds.push('bdb');
  if (rpmDir.includes('Packages.db')) kinds.push('ndb');
  if (rpmDir.includes('rpmdb.sqlite')) kinds.push('sqlite');
  if (manifestDir.includes('container-manifest-1') && manifestDir.includes('container-manifest-2'))
    kinds.push('manifests');
  if (kinds.length === 0) return 'none';
  return kinds.length === 1 ? (kinds[0] as RpmDbKind) : 'mixed';
}

export async function readRpmFacts(files: ImageFiles): Promise<RpmFacts> {
  const names = new Set<string>();
  for (const dir of PATH_DIRS) for (const n of (await files.list(dir)) ?? []) names.add(n);
  const db = rpmDbKind((await files.list(RPMDB_DIR)) ?? [], (await files.list(MANIFEST_DIR)) ?? []);
  return { tools: RPM_TOOLS.filter((t) => names.has(t)), rpm: names.has('rpm'), db };
}

export const SUSE_TYPES = ['sles', 'opensuse-leap', 'opensuse-tumbleweed'];
export const RPM_TYPES = [
  'cbl-mariner',
  'azurelinux',
  'centos',
  'redhat',
  'rocky',
  'alma',
  'almalinux',
  'amazon',
  'oracle',
  ...SUSE_TYPES,
];

export type RpmStrategy =
  | { kind: 'in-image'; tool: RpmTool; db: RpmDbKind }
  /** no package manager (or no rpm) in the image: dnf from a tooling image, `--installroot` */
  | { kind: 'dnf-chroot'; db: RpmDbKind }
  /** SUSE: zypper from a tooling image, `--installroot` */
  | { kind: 'zypper-chroot' }
  /** Mariner / Azure Linux distroless: only rpmmanifest files */
  | { kind: 'manifests' };

export interface RunFacts {
  /** a scanner report drives the run (false: update everything) */
  reportMode: boolean;
  ignoreErrors: boolean;
}

/**
 * Copa's rule for Oracle Linux: Trivy reports Oracle CVEs in a way that leaves unfixable false positives, so
 * report mode needs --ignore-errors.
 */
export function checkOracleReport(os: { type: string }, run: RunFacts): void {
  if (os.type === 'oracle' && run.reportMode && !run.ignoreErrors) {
    throw new CopaError('UNSUPPORTED_OS', 'detected Oracle image passed in with a report', {
      hint:
        "Trivy reports Oracle Linux CVEs that have no fix in Oracle's repositories; read Copa's troubleshooting " +
        'page, then run again with --ignore-errors (or without a report to update everything)',
    });
  }
}

/** Copa's strategy selection: SUSE → zypper; manifests → distroless; no tools → dnf chroot; else in-image. */
export function chooseRpmStrategy(
  os: { type: string; version: string },
  facts: RpmFacts,
  run: RunFacts,
): RpmStrategy {
  checkOracleReport(os, run);
  // Copa does not probe SUSE images; its zypper step only requires some rpm database
  if (SUSE_TYPES.includes(os.type) && facts.db !== 'none') return { kind: 'zypper-chroot' };
  if (facts.db === 'none' || facts.db === 'mixed') {
    throw new CopaError(
      'UNSUPPORTED_OS',
      `could not determine the RPM database type of the image (${facts.db === 'none' ? 'none found' : 'several found'})`,
      {
        hint: `an RPM image needs exactly one of ${RPMDB_DIR}/Packages, Packages.db, rpmdb.sqlite or ${MANIFEST_DIR}/container-manifest-{1,2}`,
      },
    );
  }
  if (facts.db === 'manifests') return { kind: 'manifests' };
  const tool = facts.tools[0];
  if (tool === undefined || !facts.rpm) return { kind: 'dnf-chroot', db: facts.db };
  return { kind: 'in-image', tool, db: facts.db };
}

const MIRROR = 'ghcr.io/project-copacetic/copacetic';

function majorMinor(version: string): string {
  const [major = version, minor = '0'] = version.split('.');
  return `${major}.${minor}`;
}

/**
 * Tooling images for the dnf `--installroot` strategy (Copa's chroot tooling): best first. Only dnf is needed
 * from them; the image's own repository files are used.
 */
export function dnfChrootToolingImages(os: { type: string; version: string }): string[] {
  const major = os.version.split('.')[0] || os.version;
  switch (os.type) {
    case 'redhat':
    case 'alma':
    case 'almalinux':
      return [`docker.io/library/almalinux:${major}`];
    case 'centos':
      return [`quay.io/centos/centos:stream${major}`];
    case 'rocky':
      return [`docker.io/library/rockylinux:${major}`];
    case 'amazon':
      return [`docker.io/library/amazonlinux:${os.version}`];
    case 'oracle':
      return [`docker.io/library/oraclelinux:${major}`];
    default:
      return ['docker.io/library/almalinux:9'];
  }
}

/** Tooling images for SUSE (zypper): Copa's mirror first, then SUSE's registries. */
export function zypperToolingImages(os: { type: string; version: string }): string[] {
  const [registry, repo] =
    os.type === 'sles'
      ? ['registry.suse.com', 'bci/bci-base']
      : os.type === 'opensuse-tumbleweed'
        ? ['registry.opensuse.org', 'opensuse/tumbleweed']
        : ['registry.opensuse.org', 'opensuse/leap'];
  return [`${MIRROR}/${repo}:${os.version}`, `${registry}/${repo}:${os.version}`];
}

/**
 * Copa's tdnf tooling image for Mariner / Azure Linux (used by the distroless path): Azure Linux 3.0, the
 * report's CBL-Mariner major.minor, else CBL-Mariner 2.0. Mirror first.
 */
export function marinerToolingImages(
  os: { type: string; version: string },
  reportOs?: { type: string; version: string },
): string[] {
  let repo = 'cbl-mariner/base/core';
  let tag = '2.0';
  if (os.type === 'azurelinux') {
    repo = 'azurelinux/base/core';
    tag = os.version.includes('3.0') ? '3.0' : os.version;
  } else if (reportOs?.type === 'cbl-mariner') {
    tag = majorMinor(reportOs.version);
  }
  return [`${MIRROR}/${repo}:${tag}`, `mcr.microsoft.com/${repo}:${tag}`];
}

/** `--releasever` for the chroot strategies: major.minor of the OS version (Copa's rule). */
export function releaseVer(version: string): string {
  const parts = version.split('.');
  return parts.length >= 2 ? `${parts[0]}.${parts[1]}` : version;
}
