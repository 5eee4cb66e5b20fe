import { CopaError } from '../../errors.js';

/** The native engine mounts filesystems and creates namespaces: it needs root (CAP_SYS_ADMIN). */
export function requireRoot(): void {
  if (process.platform !== 'linux') {
    throw new CopaError('ENVIRONMENT', `the native engine needs Linux (this is ${process.platform})`, {
      hint: 'run copa in a Linux VM or container',
    });
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new CopaError('ENVIRONMENT', 'copa patch needs root to mount the image filesystem', {
      hint: 'run it with sudo, or in a privileged container (docker run --privileged ...)',
    });
  }
}
