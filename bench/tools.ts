import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { run } from '../test/helpers/exec.js';

/** The host tools the bench needs (Debian package names), found on PATH or installed with apt-get on request. */

export interface Tool {
  command: string;
  debPackage: string;
  /** without it the bench still runs, minus what it is for */
  optionalFor?: string;
}

export const TOOLS: readonly Tool[] = [
  { command: 'docker-registry', debPackage: 'docker-registry' },
  { command: 'mmdebstrap', debPackage: 'mmdebstrap' },
  { command: 'skopeo', debPackage: 'skopeo' },
  { command: 'umoci', debPackage: 'umoci' },
  { command: 'getfattr', debPackage: 'attr' },
  { command: 'zstd', debPackage: 'zstd' },
  { command: '/usr/bin/time', debPackage: 'time' },
  { command: 'setpriv', debPackage: 'util-linux' },
  { command: 'buildah', debPackage: 'buildah', optionalFor: 'the buildah peer' },
  { command: 'runc', debPackage: 'runc', optionalFor: "the original Copa peer (buildkitd's OCI worker)" },
];

export function onPath(command: string, path = process.env.PATH ?? ''): boolean {
  const candidates = isAbsolute(command)
    ? [command]
    : path
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, command));
  return candidates.some((c) => {
    try {
      accessSync(c, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function missingTools(tools: readonly Tool[] = TOOLS): Tool[] {
  return tools.filter((t) => !onPath(t.command));
}

/** `apt-get install` the packages of the missing tools (root, Debian); returns what is still missing. */
export async function installTools(missing: readonly Tool[], log: (m: string) => void): Promise<Tool[]> {
  if (missing.length === 0) return [];
  const packages = [...new Set(missing.map((t) => t.debPackage))];
  log(`installing ${packages.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update', '-qq'], { env });
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env });
  return missingTools(missing);
}

export function installHint(missing: readonly Tool[]): string {
  return `apt-get install -y ${[...new Set(missing.map((t) => t.debPackage))].join(' ')} (or npm run bench -- --install-tools)`;
}
