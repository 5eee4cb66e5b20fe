/**
 * Copa's public update manifest (`--scanner native` and the plugin protocol), versions v1alpha1 and
 * v1alpha2, dispatched on the top-level `apiVersion`. See README.md in this folder.
 */
import { z } from 'zod';
import { CopaError } from '../../errors.js';
import { describeIssue, isJsonObject, parseReportJson } from '../json.js';
import {
  UnsupportedReportError,
  type PackageClass,
  type ReportParser,
  type UpdateManifest,
  type UpdatePackage,
} from '../types.js';

export const NATIVE_API_VERSIONS = ['v1alpha1', 'v1alpha2'] as const;

/** Go writes empty slices as null and may leave empty strings out: accept both as "nothing". */
const text = z
  .string()
  .nullish()
  .transform((s) => s ?? '');
const list = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .nullish()
    .transform((a) => a ?? []);

const PackageV1alpha1 = z.looseObject({
  name: z.string().min(1),
  installedVersion: text,
  fixedVersion: text,
  vulnerabilityID: text,
});

const PackageV1alpha2 = PackageV1alpha1.extend({ type: text, class: text });

const OsSchema = z.looseObject({ type: text, version: text }).nullish();

const ManifestV1alpha1 = z.looseObject({
  apiVersion: z.literal('v1alpha1'),
  metadata: z.looseObject({ os: OsSchema, config: z.looseObject({ arch: text }).nullish() }).nullish(),
  updates: list(PackageV1alpha1),
});

const ManifestV1alpha2 = z.looseObject({
  apiVersion: z.literal('v1alpha2'),
  metadata: z
    .looseObject({ os: OsSchema, config: z.looseObject({ arch: text, variant: text }).nullish() })
    .nullish(),
  // Copa decodes with Go's case-insensitive field matching, so `osUpdates` works there too.
  osupdates: list(PackageV1alpha2),
  osUpdates: list(PackageV1alpha2),
  langupdates: list(PackageV1alpha2),
  langUpdates: list(PackageV1alpha2),
});

type Pkg1 = z.infer<typeof PackageV1alpha1>;
type Pkg2 = z.infer<typeof PackageV1alpha2>;

function toUpdate(p: Pkg1, cls: PackageClass, type = ''): UpdatePackage {
  const u: UpdatePackage = {
    name: p.name,
    installedVersion: p.installedVersion,
    fixedVersion: p.fixedVersion,
    vulnerabilityID: p.vulnerabilityID,
    class: cls,
  };
  if (type !== '') u.type = type;
  return u;
}

function invalid(what: string, apiVersion: string, error: z.ZodError): CopaError {
  return new CopaError(
    'REPORT',
    `${what} is not a valid ${apiVersion} update manifest: ${describeIssue(error)}`,
    {
      hint: 'see the v1alpha1/v1alpha2 examples in the Copa scanner plugin documentation',
    },
  );
}

/**
 * Convert an already-decoded native update manifest. `what` names the input in messages (a file, or
 * "output of scanner plugin X"). Throws UnsupportedReportError for a missing or unknown apiVersion.
 */
export function parseNativeManifest(
  value: unknown,
  what: string,
  source: 'native' | 'plugin',
): UpdateManifest {
  if (!isJsonObject(value)) {
    throw new UnsupportedReportError(`${what} is not a JSON object`);
  }
  const apiVersion = value.apiVersion;
  if (apiVersion === 'v1alpha1') {
    const r = ManifestV1alpha1.safeParse(value);
    if (!r.success) throw invalid(what, apiVersion, r.error);
    const m = r.data;
    return {
      os: { type: m.metadata?.os?.type ?? '', version: m.metadata?.os?.version ?? '' },
      arch: m.metadata?.config?.arch ?? '',
      osUpdates: m.updates.map((p) => toUpdate(p, 'os-pkgs')),
      langUpdates: [],
      source,
    };
  }
  if (apiVersion === 'v1alpha2') {
    const r = ManifestV1alpha2.safeParse(value);
    if (!r.success) throw invalid(what, apiVersion, r.error);
    const m = r.data;
    const manifest: UpdateManifest = {
      os: { type: m.metadata?.os?.type ?? '', version: m.metadata?.os?.version ?? '' },
      arch: m.metadata?.config?.arch ?? '',
      osUpdates: [...m.osupdates, ...m.osUpdates].map((p: Pkg2) => toUpdate(p, 'os-pkgs', p.type)),
      langUpdates: [...m.langupdates, ...m.langUpdates].map((p: Pkg2) => toUpdate(p, 'lang-pkgs', p.type)),
      source,
    };
    const variant = m.metadata?.config?.variant ?? '';
    if (variant !== '') manifest.variant = variant;
    return manifest;
  }
  const shown = apiVersion === undefined ? 'missing' : JSON.stringify(apiVersion);
  throw new UnsupportedReportError(`${what}: unsupported apiVersion ${shown}`, {
    hint: `the update manifest must have "apiVersion": ${NATIVE_API_VERSIONS.map((v) => `"${v}"`).join(' or ')}`,
  });
}

export const nativeParser: ReportParser = {
  id: 'native',
  parse(raw: Buffer, file: string): UpdateManifest {
    return parseNativeManifest(parseReportJson(raw, file), file, 'native');
  },
};
