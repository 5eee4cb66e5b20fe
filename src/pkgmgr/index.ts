import { CopaError } from '../errors.js';
import { apkManager } from './apk/apk.js';
import { aptManager } from './dpkg/apt.js';
import { distrolessDpkgManager } from './dpkg/distroless.js';
import { pacmanManager } from './pacman/pacman.js';
import { checkOracleReport, inImageRpmManager, readRpmFacts, RPM_TYPES, rpmManager } from './rpm/index.js';
import type { ImageFiles, RpmFacts, RunFacts } from './rpm/index.js';
import type { PackageManager } from './types.js';

export type { PackageManager } from './types.js';
export type { ImageFiles, RpmFacts, RunFacts } from './rpm/index.js';

/** What the image's filesystem shows about its package database (read before choosing a manager). */
export interface ImageFacts {
  /** /var/lib/dpkg/status is a file */
  dpkgStatus: boolean;
  /** /var/lib/dpkg/status.d is a directory (Google distroless) */
  dpkgStatusD: boolean;
  /** RPM images: package managers, rpm and database found (readRpmFacts) */
  rpm?: RpmFacts;
  /** how the run goes (report or update-all, --ignore-errors): some families have rules on it */
  run?: RunFacts;
}

/** Scanner spellings of OS families (Trivy) → Copa's canonical OS types. */
const ALIASES: Record<string, string> = {
  'suse linux enterprise server': 'sles',
  'opensuse.leap': 'opensuse-leap',
  'opensuse.tumbleweed': 'opensuse-tumbleweed',
  arch: 'archlinux',
  // Grype's distro names (grype/distro/type.go) where they differ from Trivy's
  amazonlinux: 'amazon',
  oraclelinux: 'oracle',
  rockylinux: 'rocky',
  mariner: 'cbl-mariner',
  opensuseleap: 'opensuse-leap',
  rhel: 'redhat',
};

/** Copa's canonical OS type for a type from os-release or a report. */
export function canonicalFamily(type: string): string {
  const t = type.toLowerCase();
  return ALIASES[t] ?? t;
}

/** The package manager for a canonical OS type and the image's layout. */
export function managerFor(os: { type: string; version: string }, facts: ImageFacts): PackageManager {
  const type = canonicalFamily(os.type);
  switch (type) {
    case 'debian':
    case 'ubuntu':
      if (facts.dpkgStatus) return aptManager;
      if (facts.dpkgStatusD) return distrolessDpkgManager;
      throw new CopaError(
        'UNSUPPORTED_OS',
        'could not infer DPKG status of target image: no /var/lib/dpkg/status or status.d',
        {
          hint: 'the image has no dpkg database; it cannot be patched as a Debian image',
        },
      );
    case 'alpine':
      return apkManager;
    case 'archlinux':
      return pacmanManager;
    default:
      if (RPM_TYPES.includes(type)) {
        const canonical = { type, version: os.version };
        if (facts.rpm)
          return rpmManager(canonical, facts.rpm, facts.run ?? { reportMode: false, ignoreErrors: false });
        if (facts.run) checkOracleReport(canonical, facts.run);
        // facts not read by the caller: the package manager in the image is found on first use
        return inImageRpmManager();
      }
      throw new CopaError('UNSUPPORTED_OS', `unsupported osType ${os.type} ${os.version}`, {
        hint:
          'supported: Debian, Ubuntu, Alpine, Arch Linux, RHEL, CentOS, Rocky, AlmaLinux, Amazon Linux, Oracle Linux, ' +
          'CBL-Mariner, Azure Linux, SLES, openSUSE',
      });
  }
}

/**
 * Read the facts the OS family needs from the image (directory listings and small files only) and choose
 * its package manager. `files` is the sandbox session of the image root.
 */
export async function chooseManager(
  os: { type: string; version: string },
  files: ImageFiles,
  run: RunFacts,
): Promise<PackageManager> {
  const type = canonicalFamily(os.type);
  const facts: ImageFacts = { dpkgStatus: false, dpkgStatusD: false, run };
  if (type === 'debian' || type === 'ubuntu') {
    facts.dpkgStatus = (await files.readFile('/var/lib/dpkg/status')) !== undefined;
    facts.dpkgStatusD = !facts.dpkgStatus && (await files.list('/var/lib/dpkg/status.d')) !== undefined;
  } else if (RPM_TYPES.includes(type)) {
    facts.rpm = await readRpmFacts(files);
  }
  return managerFor(os, facts);
}
