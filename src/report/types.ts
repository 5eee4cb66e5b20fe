/**
 * The one internal model every scanner report is turned into (Copa's "unversioned" UpdateManifest).
 */
import { CopaError } from '../errors.js';

export type PackageClass = 'os-pkgs' | 'lang-pkgs';

export interface UpdatePackage {
  name: string;
  installedVersion: string;
  fixedVersion: string;
  vulnerabilityID: string;
  /** OS type for OS packages (e.g. "debian"), ecosystem for libraries (e.g. "python-pkg"). */
  type?: string;
  class?: PackageClass;
  /** Where a library is installed (Trivy `PkgPath`, or the target of a Go binary). */
  pkgPath?: string;
}

/** Vulnerability counts of one class: total, with a fix (patched), without a fix (skipped). */
export interface SummaryCounts {
  total: number;
  patched: number;
  skipped: number;
}

export interface PatchSummary {
  os: SummaryCounts;
  lang: SummaryCounts;
}

export interface UpdateManifest {
  /** OS family and version from the report; empty strings when the report has none. */
  os: { type: string; version: string };
  /** Architecture of the scanned image ("" when the report does not say). */
  arch: string;
  variant?: string;
  osUpdates: UpdatePackage[];
  langUpdates: UpdatePackage[];
  source: 'trivy' | 'grype' | 'native' | 'plugin';
  /** Name of the scanned artifact when the report records it (Trivy `ArtifactName`). */
  artifactName?: string;
  /** Vulnerability counts, for reports that list vulnerabilities without a fix too (Trivy). */
  summary?: PatchSummary;
}

/** Turns the raw bytes of one report file into an UpdateManifest. */
export interface ReportParser {
  id: string;
  /** Throws UnsupportedReportError when `raw` is not this parser's format (so the next one is tried). */
  parse(raw: Buffer, file: string): UpdateManifest;
}

/** "This is not my format": the caller may try another parser. */
export class UnsupportedReportError extends CopaError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('REPORT', message, options);
    this.name = 'UnsupportedReportError';
  }
}
