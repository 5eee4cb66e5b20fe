/**
 * Trivy JSON reports (`trivy image --format json`). Reads only the fields Copa reads; every other field
 * is allowed and ignored. See README.md in this folder.
 */
import { z } from 'zod';
import { CopaError } from '../../errors.js';
import { count, counter, libraryEntry, osEntry, type Finding } from '../entries.js';
import { describeIssue, isJsonObject, parseReportJson } from '../json.js';
import {
  UnsupportedReportError,
  type PatchSummary,
  type ReportParser,
  type SummaryCounts,
  type UpdateManifest,
  type UpdatePackage,
} from '../types.js';

/** Go writes empty slices as null and leaves empty strings out: accept both as "nothing". */
const text = z
  .string()
  .nullish()
  .transform((s) => s ?? '');

const VulnerabilitySchema = z.looseObject({
  VulnerabilityID: text,
  PkgName: z.string().min(1),
  PkgPath: text,
  InstalledVersion: text,
  FixedVersion: text,
});

const ResultSchema = z.looseObject({
  Target: text,
  Class: text,
  Type: text,
  Vulnerabilities: z.array(VulnerabilitySchema).nullish(),
});

const TrivyReportSchema = z.looseObject({
  SchemaVersion: z.number().optional(),
  ArtifactName: text,
  Metadata: z
    .looseObject({
      OS: z.looseObject({ Family: text, Name: text }).nullish(),
      ImageConfig: z.looseObject({ architecture: text, variant: text }).nullish(),
    })
    .nullish(),
  Results: z.array(ResultSchema).nullish(),
});

type TrivyResult = z.infer<typeof ResultSchema>;

function finding(v: z.infer<typeof VulnerabilitySchema>, type: string): Finding {
  return {
    name: v.PkgName,
    installed: v.InstalledVersion,
    fixed: v.FixedVersion,
    id: v.VulnerabilityID,
    type,
  };
}

/** Library ecosystems Copa can patch; other `lang-pkgs` types (jar, npm lock files, ...) are ignored. */
export const TRIVY_LANG_TYPES: ReadonlySet<string> = new Set([
  'python-pkg',
  'node-pkg',
  'gomod',
  'gobinary',
  'dotnet-core',
]);

/** A Trivy report is a JSON object with at least one of Trivy's top-level fields and no `apiVersion`. */
function looksLikeTrivy(value: unknown): value is Record<string, unknown> {
  if (!isJsonObject(value) || 'apiVersion' in value) return false;
  return 'SchemaVersion' in value || 'ArtifactName' in value || 'Results' in value;
}

function osUpdates(result: TrivyResult, summary: SummaryCounts): UpdatePackage[] {
  const out: UpdatePackage[] = [];
  for (const v of result.Vulnerabilities ?? []) {
    count(summary, v.FixedVersion !== '');
    if (v.FixedVersion === '') continue;
    out.push(osEntry(finding(v, result.Type)));
  }
  return out;
}

/**
 * Library entries are kept as reported (FixedVersion may be a comma list); choosing one version per
 * package (Copa's library patch levels) happens later, in the library managers.
 */
function langUpdates(result: TrivyResult, summary: SummaryCounts): UpdatePackage[] {
  if (!TRIVY_LANG_TYPES.has(result.Type)) return [];
  const out: UpdatePackage[] = [];
  for (const v of result.Vulnerabilities ?? []) {
    count(summary, v.FixedVersion !== '');
    if (v.FixedVersion === '') continue;
    // a Go binary's or a .NET app's findings name the file in Target (the binary, the *.deps.json)
    const fromTarget = result.Type === 'gobinary' || result.Type === 'dotnet-core';
    const pkgPath = v.PkgPath !== '' ? v.PkgPath : fromTarget ? result.Target : '';
    out.push(libraryEntry(finding(v, result.Type), pkgPath));
  }
  return out;
}

export function parseTrivyReport(raw: Buffer, file: string): UpdateManifest {
  const json = parseReportJson(raw, file);
  if (!looksLikeTrivy(json)) {
    throw new UnsupportedReportError(`${file} is not a Trivy JSON report`);
  }
  const parsed = TrivyReportSchema.safeParse(json);
  if (!parsed.success) {
    throw new CopaError('REPORT', `${file} is not a valid Trivy report: ${describeIssue(parsed.error)}`, {
      hint: 'regenerate it with `trivy image --format json --output <file> <image>`',
    });
  }
  const report = parsed.data;
  const summary: PatchSummary = { os: counter(), lang: counter() };
  const manifest: UpdateManifest = {
    os: { type: report.Metadata?.OS?.Family ?? '', version: report.Metadata?.OS?.Name ?? '' },
    arch: report.Metadata?.ImageConfig?.architecture ?? '',
    osUpdates: [],
    langUpdates: [],
    source: 'trivy',
    summary,
  };
  const variant = report.Metadata?.ImageConfig?.variant ?? '';
  if (variant !== '') manifest.variant = variant;
  if (report.ArtifactName !== '') manifest.artifactName = report.ArtifactName;
  for (const result of report.Results ?? []) {
    if (result.Class === 'os-pkgs') manifest.osUpdates.push(...osUpdates(result, summary.os));
    else if (result.Class === 'lang-pkgs') manifest.langUpdates.push(...langUpdates(result, summary.lang));
  }
  return manifest;
}

export const trivyParser: ReportParser = { id: 'trivy', parse: parseTrivyReport };
