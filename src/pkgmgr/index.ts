import { CopaError } from '../errors.js';
import { aptManager } from './dpkg/apt.js';
import { distrolessDpkgManager } from './dpkg/distroless.js';
import type { PackageManager } from './types.js';

export type { PackageManager } from './types.js';

/** What the image's filesystem shows about its package database (read before choosing a manager). */
export interface ImageFacts {
  /** /var/lib/dpkg/status is a file */
  dpkgStatus: boolean;
  /** /var/lib/dpkg/status.d is a directory (Google distroless) */
  dpkgStatusD: boolean;
}

/** The package manager for a canonical OS type and the image's layout. */
export function managerFor(os: { type: string; version: string }, facts: ImageFacts): PackageManager {
  switch (os.type) {
    case 'debian':
    case 'ubuntu':
      if (facts.dpkgStatus) return aptManager;
      if (facts.dpkgStatusD) return distrolessDpkgManager;
      throw new CopaError('UNSUPPORTED_OS', 'could not infer DPKG status of target image: no /var/lib/dpkg/status or status.d', {
        hint: 'the image has no dpkg database; it cannot be patched as a Debian image',
      });
    default:
      throw new CopaError('UNSUPPORTED_OS', `unsupported osType ${os.type} ${os.version}`, {
        hint: 'this version of copa patches Debian and Ubuntu images',
      });
  }
}
