/**
 * Build the OpenVEX document of a patch run (COPA-BEHAVIOUR §4.5): one `fixed` statement per
 * vulnerability ID, naming the patched image and the packages (at their vulnerable, installed
 * version, so a scanner can correlate them with its findings) that carried it.
 */
import { CopaError } from '../errors.js';
import { isDigest, sha256 } from '../oci/digest.js';
import type { UpdateManifest, UpdatePackage } from '../report/types.js';
import { libraryPackageUrl, ociPackageUrl, osPackageUrl, type OsContext } from './purl.js';
import type { OpenVexDocument, VexStatement } from './types.js';

/**
 * The context of the current specification text ("The URL is structured as
 * https://openvex.dev/ns/v[version]"; without a version it means v0.0.1). Copa writes the bare
 * `https://openvex.dev/ns` through go-vex; we state the version we actually follow.
 */
export const OPENVEX_CONTEXT = 'https://openvex.dev/ns/v0.2.0';
export const OPENVEX_ID_PREFIX = 'https://openvex.dev/docs/public/vex-';
export const DEFAULT_VEX_AUTHOR = 'Project Copacetic';
export const VEX_TOOLING = 'Project Copacetic';

export interface BuildVexInput {
  /** Image reference or repository; the product is named after its last path element. */
  imageRef: string;
  /** Manifest digest of the patched image. */
  imageDigest: string;
  manifest: UpdateManifest;
  /** OS and library updates that passed validation. */
  validated: UpdatePackage[];
  /** Packages that failed validation: never stated as fixed. */
  failedNames?: Set<string>;
  /** Default: `COPA_VEX_AUTHOR`, else "Project Copacetic". */
  author?: string;
  /** Default: now. */
  now?: Date;
}

/** Author from the environment, as Copa reads it. */
export function vexAuthor(env: NodeJS.ProcessEnv = process.env): string {
  const a = env.COPA_VEX_AUTHOR;
  return a !== undefined && a !== '' ? a : DEFAULT_VEX_AUTHOR;
}

function isLibrary(u: UpdatePackage): boolean {
  return u.class === 'lang-pkgs';
}

/** Why an update is left out of the document, or undefined when it is stated. */
export function skipReason(u: UpdatePackage, failed: ReadonlySet<string>): string | undefined {
  if (u.vulnerabilityID === '') return 'no vulnerability ID';
  if (u.fixedVersion === '') return 'no fixed version';
  if (u.fixedVersion === u.installedVersion) return 'fixed version equals installed version';
  if (failed.has(u.name)) return 'failed validation';
  return undefined;
}

export function subcomponentUrl(u: UpdatePackage, os: OsContext): string {
  return isLibrary(u)
    ? libraryPackageUrl(u.type ?? '', u.name, u.installedVersion)
    : osPackageUrl(u.name, u.installedVersion, os);
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** JSON with object keys sorted at every level: the input of the document's content hash. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => byCodePoint(a, b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Pure apart from the two defaults (`author` from the environment, `now`). Statements are sorted by
 * vulnerability ID and subcomponents by purl, duplicates removed, so equal inputs give equal bytes.
 * The `@id` is the sha256 of the canonical JSON of the document without its `@id`.
 * A document with no statements is returned as such: the caller should not write it.
 */
export function buildOpenVex(input: BuildVexInput): OpenVexDocument {
  if (!isDigest(input.imageDigest)) {
    throw new CopaError(
      'INTERNAL',
      `building the VEX document: ${JSON.stringify(input.imageDigest)} is not a digest`,
    );
  }
  const m = input.manifest;
  const os: OsContext = { osType: m.os.type, osVersion: m.os.version, arch: m.arch, variant: m.variant };
  const failed = input.failedNames ?? new Set<string>();

  const byVuln = new Map<string, Set<string>>();
  for (const u of input.validated) {
    if (skipReason(u, failed) !== undefined) continue;
    let set = byVuln.get(u.vulnerabilityID);
    if (!set) byVuln.set(u.vulnerabilityID, (set = new Set()));
    set.add(subcomponentUrl(u, os));
  }

  const product = ociPackageUrl(input.imageRef, input.imageDigest);
  const statements: VexStatement[] = [...byVuln.keys()].sort(byCodePoint).map((id) => ({
    vulnerability: { name: id },
    products: [
      {
        '@id': product,
        subcomponents: [...(byVuln.get(id) ?? [])].sort(byCodePoint).map((purl) => ({ '@id': purl })),
      },
    ],
    status: 'fixed',
  }));

  const body: Omit<OpenVexDocument, '@id'> = {
    '@context': OPENVEX_CONTEXT,
    author: input.author ?? vexAuthor(),
    timestamp: (input.now ?? new Date()).toISOString(),
    version: 1,
    tooling: VEX_TOOLING,
    statements,
  };
  const id = OPENVEX_ID_PREFIX + sha256(canonicalJson(body)).replace(/^sha256:/, '');
  return {
    '@context': body['@context'],
    '@id': id,
    author: body.author,
    timestamp: body.timestamp,
    version: body.version,
    tooling: body.tooling,
    statements: body.statements,
  };
}
