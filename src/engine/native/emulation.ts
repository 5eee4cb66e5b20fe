import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CopaError } from '../../errors.js';
import type { Platform } from '../../oci/schemas.js';
import { hostPlatform } from '../../oci/platform.js';

const run = promisify(execFile);

/** Go architecture names → qemu-user names (binfmt_misc entries are `qemu-<name>`). */
const QEMU: Record<string, string> = {
  amd64: 'x86_64',
  arm64: 'aarch64',
  arm: 'arm',
  '386': 'i386',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

export function qemuArch(arch: string): string | undefined {
  return QEMU[arch];
}

/** Whether the host runs this architecture natively (amd64 also runs 386; arm64 usually runs arm). */
export function isNative(p: Platform, host: Platform = hostPlatform()): boolean {
  if (p.architecture === host.architecture) return true;
  return host.architecture === 'amd64' && p.architecture === '386';
}

/** Hint for enabling emulation of `arch` on a Debian-like host. */
export function emulationHint(arch: string): string {
  const q = qemuArch(arch) ?? arch;
  return `install qemu-user-static and binfmt-support, then run \`mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; update-binfmts --enable qemu-${q}\` (or \`docker run --privileged --rm tonistiigi/binfmt --install ${arch}\`)`;
}

/**
 * Is a qemu-user interpreter registered (and enabled) with binfmt_misc for this platform? Read in a private
 * mount namespace where binfmt_misc is mounted, so nothing is mounted on the host.
 */
export async function emulationEnabled(p: Platform): Promise<boolean> {
  if (isNative(p)) return true;
  const q = qemuArch(p.architecture);
  if (!q) return false;
  try {
    const { stdout } = await run('unshare', [
      '--mount',
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      'mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null; cat "/proc/sys/fs/binfmt_misc/$1"',
      'sh',
      `qemu-${q}`,
    ]);
    return stdout.split('\n')[0]?.trim() === 'enabled';
  } catch {
    return false;
  }
}

export async function requireEmulation(p: Platform, label: string): Promise<void> {
  if (await emulationEnabled(p)) return;
  throw new CopaError('PLATFORM', `emulation is not enabled for platform ${label}`, {
    hint: emulationHint(p.architecture),
  });
}
