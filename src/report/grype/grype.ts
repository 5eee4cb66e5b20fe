/**
 * Grype JSON reports (`grype -o json <image>`). Reads only the fields Copa reads; every other field is
 * allowed and ignored. See README.md in this folder (field list, detection and mapping rules).
 */
import { z } from 'zod';
import { CopaError } from '../../errors.js';
import { apkVersion } from '../../version/apk.js';
import { debVersion } from '../../version/deb.js';
import { pacmanVersion } from '../../version/pacman.js';
import { rpmVersion } from '../../version/rpm.js';
import type { VersionScheme } from '../../version/types.js';
import { count, counter, libraryEntry, osEntry } from '../entries.js';
import { describeIssue, isJsonObject, parseReportJson } from '../json.js';
import {
  UnsupportedReportError,
  type PatchSummary,
  type ReportParser,
  type UpdateManifest,
} from '../types.js';

/** Go writes nil slices as null and may leave strings out: accept both as "nothing". */
const text = z
  .string()
  .nullish()
  .transform((s) => s ?? '');
const strings = z
  .array(z.string())
  .nullish()
  .transform((a) => a ?? []);

const MatchSchema = z.looseObject({
  vulnerability: z.looseObject({
    id: z.string().min(1),
    fix: z.looseObject({ versions: strings, state: text }).nullish(),
  }),
  artifact: z.looseObject({
    name: z.string().min(1),
    version: text,
    type: text,
    locations: z.array(z.looseObject({ path: text })).nullish(),
    metadataType: text,
  }),
});

/** `source.target` is an object for images and a plain string for directories, files, SBOMs, ... */
const ImageTargetSchema = z.looseObject({ userInput: text, architecture: text, architectureVariant: text });

const GrypeReportSchema = z.looseObject({
  matches: z.array(MatchSchema),
  source: z.looseObject({ type: text, target: z.union([ImageTargetSchema, z.string()]).nullish() }).nullish(),
  distro: z.looseObject({ name: text, version: text }).nullish(),
});

type GrypeMatch = z.infer<typeof MatchSchema>;

/** OS package types (syft `pkg.Type`) and the version scheme their fix versions are compared with. */
const OS_SCHEMES: Readonly<Record<string, VersionScheme>> = {
  deb: debVersion,
  rpm: rpmVersion,
  apk: apkVersion,
  alpm: pacmanVersion,
};

/** Syft/Grype metadata type names of a Go module read from a compiled binary, or from a go.mod. */
const GO_BINARY_METADATA: ReadonlySet<string> = new Set(['GolangBinMetadata', 'go-module-buildinfo-entry']);
const GO_MOD_METADATA: ReadonlySet<string> = new Set(['GolangModMetadata', 'go-module-entry']);

/**
 * A Grype report is a JSON object without `apiVersion`/`SchemaVersion` that has a `matches` array and
 * `descriptor.name: grype`, `source` or `distro` — or says `descriptor.name: grype` whatever else it holds
 * (then a broken `matches` is reported as a malformed Grype report, not as an unknown format).
 */
function looksLikeGrype(value: unknown): value is Record<string, unknown> {
  if (!isJsonObject(value) || 'apiVersion' in value || 'SchemaVersion' in value) return false;
  const byGrype = isJsonObject(value.descriptor) && value.descriptor.name === 'grype';
  return byGrype || (Array.isArray(value.matches) && ('source' in value || 'distro' in value));
}

function firstPath(m: GrypeMatch): string {
  return m.artifact.locations?.[0]?.path ?? '';
}

/** Trivy's ecosystem name for a Grype library match, or undefined for ecosystems Copa does not patch. */
function langType(m: GrypeMatch): string | undefined {
  switch (m.artifact.type) {
    case 'python':
      return 'python-pkg';
    case 'npm':
      return 'node-pkg';
    case 'dotnet':
      return 'dotnet-core';
    case 'go-module': {
      if (GO_BINARY_METADATA.has(m.artifact.metadataType)) return 'gobinary';
      if (GO_MOD_METADATA.has(m.artifact.metadataType)) return 'gomod';
      return /(^|\/)go\.mod$/.test(firstPath(m)) ? 'gomod' : 'gobinary';
    }
    default:
      return undefined;
  }
}

function comparable(scheme: VersionScheme, v: string): boolean {
  try {
    scheme.compare(v, v);
    return true;
  } catch {
    return false;
  }
}

/**
 * The lowest fix version under the package's scheme (the least change that fixes); versions the scheme
 * cannot read are passed over, and when it can read none the first listed version is taken.
 */
export function lowestFixVersion(versions: string[], scheme: VersionScheme): string {
  const readable = versions.filter((v) => comparable(scheme, v));
  if (readable.length === 0) return versions[0] ?? '';
  return readable.reduce((low, v) => (scheme.compare(v, low) < 0 ? v : low));
}

function fixVersions(m: GrypeMatch): string[] {
  const fix = m.vulnerability.fix;
  if (fix?.state !== 'fixed') return [];
  return fix.versions.map((v) => v.trim()).filter((v) => v !== '');
}

/**
 * Grype lists one match per matcher (e.g. a distro and a CPE match of the same CVE): one entry per
 * (vulnerability, package, version, path), the first one with a fix if any copy has one.
 */
function unique(matches: GrypeMatch[]): GrypeMatch[] {
  const byKey = new Map<string, GrypeMatch>();
  for (const m of matches) {
    const key = JSON.stringify([m.vulnerability.id, m.artifact.name, m.artifact.version, firstPath(m)]);
    const kept = byKey.get(key);
    if (kept === undefined || (fixVersions(kept).length === 0 && fixVersions(m).length > 0))
      byKey.set(key, m);
  }
  return [...byKey.values()];
}

function toManifest(report: z.infer<typeof GrypeReportSchema>): UpdateManifest {
  const summary: PatchSummary = { os: counter(), lang: counter() };
  const target = report.source?.target;
  const image = typeof target === 'object' && target !== null ? target : undefined;
  const osType = report.distro?.name ?? '';
  const manifest: UpdateManifest = {
    os: { type: osType, version: report.distro?.version ?? '' },
    arch: image?.architecture ?? '',
    osUpdates: [],
    langUpdates: [],
    source: 'grype',
    summary,
  };
  if (image !== undefined && image.architectureVariant !== '') manifest.variant = image.architectureVariant;
  if (image !== undefined && image.userInput !== '') manifest.artifactName = image.userInput;

  for (const m of unique(report.matches)) {
    const { artifact, vulnerability } = m;
    const path = firstPath(m);
    const fixes = fixVersions(m);
    const scheme = OS_SCHEMES[artifact.type];
    const found = { name: artifact.name, installed: artifact.version, id: vulnerability.id };
    if (scheme !== undefined) {
      count(summary.os, fixes.length > 0);
      if (fixes.length === 0) continue;
      const fixed = lowestFixVersion(fixes, scheme);
      manifest.osUpdates.push(osEntry({ ...found, fixed, type: osType }));
      continue;
    }
    const type = langType(m);
    if (type === undefined) continue;
    count(summary.lang, fixes.length > 0);
    if (fixes.length === 0) continue;
    manifest.langUpdates.push(libraryEntry({ ...found, fixed: fixes.join(', '), type }, path));
  }
  return manifest;
}

export function parseGrypeReport(raw: Buffer, file: string): UpdateManifest {
  const json = parseReportJson(raw, file);
  if (!looksLikeGrype(json)) {
    throw new UnsupportedReportError(`${file} is not a Grype JSON report`);
  }
  const parsed = GrypeReportSchema.safeParse(json);
  if (!parsed.success) {
    throw new CopaError('REPORT', `${file} is not a valid Grype report: ${describeIssue(parsed.error)}`, {
      hint: 'regenerate it with `grype -o json --file <file> <image>`',
    });
  }
  return toManifest(parsed.data);
}

export const grypeParser: ReportParser = { id: 'grype', parse: parseGrypeReport };
