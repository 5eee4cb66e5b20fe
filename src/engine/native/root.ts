import { CopaError } from '../../errors.js';
import { rootlessPlan } from './userns.js';

/** The native engine mounts filesystems and creates namespaces: it needs root (CAP_SYS_ADMIN). */
export function requireRoot(): void {
  if (process.platform !== 'linux') {
    throw new CopaError('ENVIRONMENT', `the native engine needs Linux (this is ${process.platform})`, {
      hint: 'run copa in a Linux VM or container',
    });
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    const plan = rootlessPlan();
    if ('missing' in plan) {
      throw new CopaError(
        'ENVIRONMENT',
        `copa patch needs root, or for a rootless run: ${plan.missing.join('; ')}`,
        {
          hint: 'add what is missing, or run it with sudo, or in a privileged container (docker run --privileged ...)',
        },
      );
    }
    throw new CopaError(
      'ENVIRONMENT',
      'the native engine needs root or a user namespace to mount the image filesystem',
      {
        hint: 'the copa command enters a user namespace by itself; as a library, run the process as root',
      },
    );
  }
}
