import { CopaError } from '../errors.js';
import { aptManager } from './dpkg/apt.js';
import type { PackageManager } from './types.js';

export type { PackageManager } from './types.js';

/** The package manager for a canonical OS type. */
export function managerFor(os: { type: string; version: string }): PackageManager {
  switch (os.type) {
    case 'debian':
    case 'ubuntu':
      return aptManager;
    default:
      throw new CopaError('UNSUPPORTED_OS', `unsupported osType ${os.type} ${os.version}`, {
        hint: 'this version of copa patches Debian and Ubuntu images',
      });
  }
}
