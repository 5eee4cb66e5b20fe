import { z } from 'zod';
import { CopaError } from '../errors.js';

const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/, 'a sha256 digest');

export const PlatformSchema = z.looseObject({
  architecture: z.string(),
  os: z.string(),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).optional(),
  variant: z.string().optional(),
  features: z.array(z.string()).optional(),
});
export type Platform = z.infer<typeof PlatformSchema>;

export const DescriptorSchema = z.looseObject({
  mediaType: z.string(),
  digest,
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  platform: PlatformSchema.optional(),
  artifactType: z.string().optional(),
});
export type Descriptor = z.infer<typeof DescriptorSchema>;

/** OCI image manifest or Docker schema2 manifest (same shape). */
export const ManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: DescriptorSchema,
  layers: z.array(DescriptorSchema),
  subject: DescriptorSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** OCI image index or Docker manifest list. */
export const IndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  manifests: z.array(DescriptorSchema),
  subject: DescriptorSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type Index = z.infer<typeof IndexSchema>;

export const HistorySchema = z.looseObject({
  created: z.string().optional(),
  created_by: z.string().optional(),
  author: z.string().optional(),
  comment: z.string().optional(),
  empty_layer: z.boolean().optional(),
});
export type History = z.infer<typeof HistorySchema>;

export const ImageConfigSchema = z.looseObject({
  architecture: z.string(),
  os: z.string(),
  variant: z.string().optional(),
  'os.version': z.string().optional(),
  created: z.string().optional(),
  author: z.string().optional(),
  config: z
    .looseObject({
      Labels: z.record(z.string(), z.string()).nullable().optional(),
      Env: z.array(z.string()).nullable().optional(),
    })
    .optional(),
  rootfs: z.looseObject({ type: z.literal('layers'), diff_ids: z.array(digest) }),
  history: z.array(HistorySchema).optional(),
});
export type ImageConfig = z.infer<typeof ImageConfigSchema>;

/** Parse external JSON bytes through a schema; failures become one-line CopaErrors. */
export function parseJson<T>(schema: z.ZodType<T>, bytes: Buffer | string, what: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (e) {
    throw new CopaError('REGISTRY', `${what} is not valid JSON: ${(e as Error).message}`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw new CopaError('REGISTRY', `${what} is malformed${where}: ${issue?.message ?? 'invalid'}`);
  }
  return r.data;
}
