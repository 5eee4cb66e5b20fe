import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import { run } from '../test/helpers/exec.js';
import { pushFixture } from '../test/helpers/fixtures.js';

/**
 * W4, bulk: ten tags of one repository that share the base layers of the small image, each with one small
 * layer of its own, patched in update-all mode. Here: the tags, the PatchConfig both copas read (ours and
 * the original: the same schema), the targets it leads to, and our CLI's `--json` bulk summary.
 */

export const W4_REPO = 'bench/w4';
export const W4_TAGS: readonly string[] = Array.from({ length: 10 }, (_, i) => `t${i + 1}`);
/** Copa's default target tag template, written out */
export const TAG_TEMPLATE = '{{ .SourceTag }}-patched';

export interface BulkSpec {
  /** the label of the image entry (Copa's summary NAME column) */
  name: string;
  /** source repository without a tag: host/path */
  image: string;
  tags: readonly string[];
  /** target.registry: a prefix; each image lands in <prefix>/<last path segment of image> */
  targetRegistry: string;
}

/** A PatchConfig (copa.sh/v1alpha1) with one image entry and a `list` tag strategy. */
export function bulkConfig(spec: BulkSpec): string {
  return stringify({
    apiVersion: 'copa.sh/v1alpha1',
    kind: 'PatchConfig',
    target: { registry: spec.targetRegistry, tag: TAG_TEMPLATE },
    images: [
      {
        name: spec.name,
        image: spec.image,
        tags: { strategy: 'list', list: [...spec.tags] },
      },
    ],
  });
}

/** Where the config sends each tag: `<targetRegistry>/<last segment of image>:<tag>-patched`. */
export function bulkTargets(spec: BulkSpec): Array<{ source: string; repository: string; tag: string }> {
  const last = spec.image.slice(spec.image.lastIndexOf('/') + 1);
  const prefix = spec.targetRegistry.replace(/\/+$/, '');
  return spec.tags.map((tag) => ({
    source: `${spec.image}:${tag}`,
    repository: `${prefix}/${last}`,
    tag: TAG_TEMPLATE.replace('{{ .SourceTag }}', tag),
  }));
}

/** host:port/path -> path (the repository name as the registry's API sees it). */
export function repositoryPath(reference: string): string {
  const slash = reference.indexOf('/');
  return slash < 0 ? reference : reference.slice(slash + 1);
}

/** Our CLI's `patch --config … --json` stdout. */
export const BulkSummary = z.looseObject({
  jobs: z.array(z.looseObject({ status: z.string().optional() })),
  counts: z.looseObject({
    Patched: z.number(),
    Skipped: z.number(),
    Failed: z.number(),
    Error: z.number(),
  }),
  total: z.number(),
});
export type BulkSummary = z.infer<typeof BulkSummary>;

/** A readable complaint when a bulk summary is not "every job patched", else undefined. */
export function bulkProblem(summary: BulkSummary, expected: number): string | undefined {
  const c = summary.counts;
  if (summary.total === expected && c.Patched === expected) return undefined;
  return `expected ${expected} patched images, got total ${summary.total}: ${c.Patched} Patched, ${c.Skipped} Skipped, ${c.Failed} Failed, ${c.Error} Error`;
}

/**
 * The W4 images: the small image's OCI layout copied once, one extra layer per tag (a file
 * /etc/bench-w4/tag naming the tag), pushed as <registry>/bench/w4:tN. The base blobs are shared, so
 * the registry holds them once.
 */
export async function pushW4Images(opts: {
  small: { layoutDir: string; refName: string };
  workDir: string;
  registryHost: string;
}): Promise<void> {
  const layout = join(opts.workDir, 'w4-oci');
  await rm(layout, { recursive: true, force: true });
  await cp(opts.small.layoutDir, layout, { recursive: true });
  for (const tag of W4_TAGS) {
    const stage = join(opts.workDir, 'w4-stage', tag);
    await mkdir(join(stage, 'etc/bench-w4'), { recursive: true });
    await writeFile(join(stage, 'etc/bench-w4/tag'), `${tag}\n`);
    const tar = join(opts.workDir, `w4-${tag}.tar`);
    await run('tar', [
      '--create',
      '--file',
      tar,
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--mtime=@1767225600',
      '-C',
      stage,
      'etc',
    ]);
    await run('umoci', [
      'raw',
      'add-layer',
      '--image',
      `${layout}:${opts.small.refName}`,
      '--tag',
      tag,
      '--history.created_by',
      `bench: /etc/bench-w4/tag = ${tag}`,
      tar,
    ]);
    await rm(tar);
    await pushFixture(layout, tag, opts.registryHost, `${W4_REPO}:${tag}`);
  }
  await rm(join(opts.workDir, 'w4-stage'), { recursive: true, force: true });
  await rm(layout, { recursive: true, force: true });
}
