import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';

/** Small wrappers around umoci and skopeo, to make test images and check what our code wrote. */

export interface RunResult {
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve({ stdout, stderr });
    });
  });
}

export interface LayoutImage {
  /** tag inside the layout */
  tag: string;
  /** one entry per layer: file path -> content (random bytes are appended to make layers distinct) */
  layers: Record<string, string>[];
  architecture?: string;
}

/** Build images with umoci in an OCI layout at `dir` (created when missing). */
export async function makeLayout(dir: string, images: LayoutImage[]): Promise<void> {
  await run('umoci', ['init', '--layout', dir]).catch(() => undefined); // exists already: fine
  const work = await mkdtemp(join(tmpdir(), 'copa-test-layer-'));
  try {
    for (const img of images) {
      const ref = `${dir}:${img.tag}`;
      await run('umoci', ['new', '--image', ref]);
      if (img.architecture)
        await run('umoci', ['config', '--image', ref, '--architecture', img.architecture]);
      for (const [i, files] of img.layers.entries()) {
        const root = join(work, `${img.tag}-${i}`);
        for (const [path, content] of Object.entries(files)) {
          await mkdir(dirname(join(root, path)), { recursive: true });
          await writeFile(join(root, path), content);
        }
        await writeFile(join(root, `.unique-${i}`), randomBytes(16).toString('hex'));
        const tar = join(work, `${img.tag}-${i}.tar`);
        await run('tar', ['-C', root, '--sort=name', '-cf', tar, '.']);
        await run('umoci', ['raw', 'add-layer', '--image', ref, tar]);
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A layer of `bytes` random (incompressible) bytes, to have blobs big enough for mid-stream faults. */
export async function makeBigImage(dir: string, tag: string, bytes: number): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'copa-test-big-'));
  try {
    await writeFile(join(work, 'blob.bin'), randomBytes(bytes));
    const tar = join(dir, '..', `${tag}.tar`);
    await run('tar', ['-C', work, '-cf', tar, 'blob.bin']);
    await run('umoci', ['init', '--layout', dir]).catch(() => undefined);
    await run('umoci', ['new', '--image', `${dir}:${tag}`]);
    await run('umoci', ['raw', 'add-layer', '--image', `${dir}:${tag}`, tar]);
    await rm(tar, { force: true });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export interface Creds {
  user: string;
  pass: string;
}

function credFlags(prefix: '' | 'src-' | 'dest-', creds?: Creds): string[] {
  return creds ? [`--${prefix}creds`, `${creds.user}:${creds.pass}`] : [];
}

/** `skopeo copy` between transports (`oci:dir:tag`, `docker://host/repo:tag`), TLS off for loopback. */
export async function skopeoCopy(
  src: string,
  dest: string,
  opts: { format?: 'v2s2' | 'oci'; all?: boolean; srcCreds?: Creds; destCreds?: Creds } = {},
): Promise<void> {
  const args = ['copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false'];
  if (opts.format) args.push('--format', opts.format);
  if (opts.all) args.push('--all');
  args.push(...credFlags('src-', opts.srcCreds), ...credFlags('dest-', opts.destCreds), src, dest);
  await run('skopeo', args);
}

const InspectSchema = z.looseObject({
  Digest: z.string(),
  Architecture: z.string().optional(),
  Layers: z.array(z.string()).nullable(),
  LayersData: z
    .array(z.looseObject({ MIMEType: z.string(), Digest: z.string(), Size: z.number() }))
    .nullable()
    .optional(),
});
export type Inspect = z.infer<typeof InspectSchema>;

/** `skopeo inspect docker://ref` (for an index: the image of the host platform). */
export async function inspect(ref: string, creds?: Creds): Promise<Inspect> {
  const { stdout } = await run('skopeo', [
    'inspect',
    '--no-tags',
    '--tls-verify=false',
    ...credFlags('', creds),
    `docker://${ref}`,
  ]);
  return InspectSchema.parse(JSON.parse(stdout));
}

/** `skopeo inspect --raw`: the manifest bytes exactly as stored. */
export async function inspectRaw(ref: string, creds?: Creds): Promise<Buffer> {
  const { stdout } = await run('skopeo', [
    'inspect',
    '--raw',
    '--tls-verify=false',
    ...credFlags('', creds),
    `docker://${ref}`,
  ]);
  return Buffer.from(stdout, 'utf8');
}

const ConfigSchema = z.looseObject({
  architecture: z.string(),
  rootfs: z.looseObject({ diff_ids: z.array(z.string()) }),
});

/** `skopeo inspect --config --raw`: the image config as stored. */
export async function inspectConfig(
  ref: string,
  creds?: Creds,
): Promise<{ raw: Buffer; diffIDs: string[]; architecture: string }> {
  const { stdout } = await run('skopeo', [
    'inspect',
    '--config',
    '--raw',
    '--tls-verify=false',
    ...credFlags('', creds),
    `docker://${ref}`,
  ]);
  const raw = Buffer.from(stdout, 'utf8');
  const parsed = ConfigSchema.parse(JSON.parse(stdout));
  return { raw, diffIDs: parsed.rootfs.diff_ids, architecture: parsed.architecture };
}

/** The manifest digest of a tag in an OCI layout (from its index.json). */
export async function layoutDigest(dir: string, tag: string): Promise<string> {
  const index = z
    .object({
      manifests: z.array(
        z.looseObject({ digest: z.string(), annotations: z.record(z.string(), z.string()).optional() }),
      ),
    })
    .parse(JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')));
  const hit = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!hit) throw new Error(`tag ${tag} not in layout ${dir}`);
  return hit.digest;
}

const LayoutIndexSchema = z.looseObject({
  manifests: z.array(
    z.looseObject({
      mediaType: z.string(),
      digest: z.string(),
      size: z.number(),
      annotations: z.record(z.string(), z.string()).optional(),
    }),
  ),
});

/**
 * Write an OCI image index over images already in the layout (by tag) and tag it `tag`, so that
 * `skopeo copy --all oci:<dir>:<tag>` copies the whole multi-platform image.
 */
export async function addIndex(
  dir: string,
  tag: string,
  children: { tag: string; architecture: string; variant?: string }[],
): Promise<string> {
  const indexPath = join(dir, 'index.json');
  const layoutIndex = LayoutIndexSchema.parse(JSON.parse(await readFile(indexPath, 'utf8')));
  const manifests = children.map((c) => {
    const hit = layoutIndex.manifests.find(
      (m) => m.annotations?.['org.opencontainers.image.ref.name'] === c.tag,
    );
    if (!hit) throw new Error(`tag ${c.tag} not in layout ${dir}`);
    const platform = {
      architecture: c.architecture,
      os: 'linux',
      ...(c.variant ? { variant: c.variant } : {}),
    };
    return { mediaType: hit.mediaType, digest: hit.digest, size: hit.size, platform };
  });
  const bytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }),
  );
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  await writeFile(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
  layoutIndex.manifests.push({
    mediaType: 'application/vnd.oci.image.index.v1+json',
    digest,
    size: bytes.length,
    annotations: { 'org.opencontainers.image.ref.name': tag },
  });
  await writeFile(indexPath, JSON.stringify(layoutIndex));
  return digest;
}
