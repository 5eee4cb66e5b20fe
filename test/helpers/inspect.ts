import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';

/** Independent checks of results: skopeo, tar and dpkg, never the product's own code. */

export interface RawDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface RawManifest {
  config: { digest: string };
  layers: RawDescriptor[];
  manifests: RawDescriptor[];
  annotations?: Record<string, string>;
}

/** `skopeo inspect --raw` of a registry reference (plain HTTP), or of `oci:<dir>:<ref>`. */
export function rawManifest(ref: string): RawManifest {
  const target = ref.startsWith('oci:') ? ref : `docker://${ref}`;
  return JSON.parse(
    execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', target], { encoding: 'utf8' }),
  ) as RawManifest;
}

export function imageConfig(ref: string): {
  rootfs: { diff_ids: string[] };
  config?: { Labels?: Record<string, string> };
} {
  return JSON.parse(
    execFileSync('skopeo', ['inspect', '--config', '--tls-verify=false', `docker://${ref}`], {
      encoding: 'utf8',
    }),
  ) as never;
}

export function tagExists(ref: string): boolean {
  try {
    execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], {
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  }
}

/** dpkg's own answer to `a >= b` */
export function dpkgGe(a: string, b: string): boolean {
  try {
    execFileSync('dpkg', ['--compare-versions', a, 'ge', b]);
    return true;
  } catch {
    return false;
  }
}

/** Copy a registry image into a fresh OCI layout under `parent` (skopeo verifies every digest); ref name `x`. */
export async function pullToLayout(ref: string, parent: string): Promise<string> {
  const dir = await mkdtemp(join(parent, 'pulled-'));
  execFileSync(
    'skopeo',
    ['copy', '--insecure-policy', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir}/oci:x`],
    { stdio: 'ignore' },
  );
  return join(dir, 'oci');
}

/** Entry names of a gzip layer blob of an OCI layout, listed by GNU tar. */
export function layerEntries(layoutDir: string, digest: string): string[] {
  const blob = join(layoutDir, 'blobs/sha256', digest.slice('sha256:'.length));
  return execFileSync('tar', ['-tzf', blob], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n')
    .filter(Boolean);
}

/**
 * `tar -tvz` of the last (patch) layer of a registry image without dates: type/mode, owner, size, name (and
 * link target), sorted; pulled into a layout under `work`.
 */
export async function lastLayerListing(ref: string, work: string): Promise<string[]> {
  const last = rawManifest(ref).layers.at(-1);
  if (!last) throw new Error(`${ref} has no layers`);
  const layout = await pullToLayout(ref, work);
  return execFileSync(
    'tar',
    ['--numeric-owner', '-tvzf', join(layout, 'blobs/sha256', last.digest.slice(7))],
    {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    },
  )
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [mode, owner, size, , , ...name] = l.split(/\s+/);
      return `${mode} ${owner} ${size} ${name.join(' ').replace(/^\.\//, '')}`;
    })
    .sort();
}
