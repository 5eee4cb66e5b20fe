/**
 * Reading a scanner report file into the internal UpdateManifest: `--scanner trivy` (default; a Grype
 * report is detected too), `--scanner grype`, `--scanner native` (v1alpha1/v1alpha2 JSON) or any other
 * name = plugin `copa-<name>`.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { CopaError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { grypeParser } from './grype/grype.js';
import { isJsonObject, oneLine } from './json.js';
import { nativeParser } from './native/native.js';
import { runPlugin } from './plugin/plugin.js';
import { trivyParser } from './trivy/trivy.js';
import {
  UnsupportedReportError,
  type PatchSummary,
  type SummaryCounts,
  type ReportParser,
  type UpdateManifest,
} from './types.js';

export * from './types.js';
export { grypeParser, parseGrypeReport } from './grype/grype.js';
export { parseNativeManifest, nativeParser } from './native/native.js';
export { runPlugin, validatePluginName, type RunPluginOptions } from './plugin/plugin.js';
export { parseTrivyReport, trivyParser } from './trivy/trivy.js';

export type PackageTypes = 'os' | 'library';

export interface LoadReportOptions {
  /** `trivy` (default, also reads Grype), `grype`, `native`, or the name X of a plugin executable `copa-X`. */
  scanner?: string;
  logger?: Logger;
  /** Which half the patch summary line describes (Copa: `--pkg-types`, default os). */
  pkgTypes?: PackageTypes[];
  /** Cancels a running plugin. */
  signal?: AbortSignal;
  /** Environment for a plugin process (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

/** Parsers tried in order for the built-in scanner names. */
const BUILT_IN: Record<string, ReportParser[]> = {
  trivy: [trivyParser, grypeParser],
  grype: [grypeParser],
  native: [nativeParser],
};

/** Reports larger than this are refused (a 10,000-package image's Trivy report is a few MiB). */
const DEFAULT_MAX_REPORT_BYTES = 256 * 1024 * 1024;

function maxReportBytes(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.COPA_MAX_REPORT_BYTES);
  return Number.isSafeInteger(v) && v > 0 ? v : DEFAULT_MAX_REPORT_BYTES;
}

/**
 * The whole file, but never more than `max` bytes: a report may be a pipe (`-r <(trivy …)`), so its size is
 * only known by reading; `/dev/zero` or a runaway writer ends in a clear error instead of exhausting memory.
 */
async function readCapped(path: string, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > max) {
      throw new CopaError('REPORT', `report ${path} is larger than ${mib(max)} MiB, the limit for a report`, {
        hint: 'check that -r names the scanner\'s JSON report; raise the limit with COPA_MAX_REPORT_BYTES if it really is that large',
      });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

const mib = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;

/** Read the report (or only check that it is a file, for plugins that read it themselves). */
async function readReportFile(path: string, read = true): Promise<Buffer> {
  try {
    const st = await stat(path);
    if (st.isDirectory()) {
      throw new CopaError('REPORT', `report ${path} is a directory, but a report file is expected here`, {
        hint: 'pass the JSON file written by the scanner (directories are for multi-platform report sets)',
      });
    }
    return read ? await readCapped(path, maxReportBytes()) : Buffer.alloc(0);
  } catch (e) {
    if (e instanceof CopaError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new CopaError('REPORT', `report file ${path} does not exist`, {
        hint: 'check the --report path',
        cause: e,
      });
    }
    throw new CopaError('REPORT', `cannot read report file ${path}: ${(e as Error).message}`, { cause: e });
  }
}

function notSupported(file: string, scanner: string, raw: Buffer, last?: UnsupportedReportError): CopaError {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8').replace(/^\uFEFF/, ''));
  } catch (e) {
    return new CopaError('REPORT', `${file} is not JSON: ${oneLine((e as Error).message)}`, {
      hint: 'pass the JSON report written by the scanner, e.g. `trivy image --format json --output report.json <image>`',
      cause: e,
    });
  }
  // A native manifest with an unknown apiVersion: the parser's own message says more.
  if (scanner === 'native' && isJsonObject(json) && 'apiVersion' in json && last !== undefined) return last;
  let hint =
    'supported: Trivy JSON (--scanner trivy), Grype JSON (--scanner grype, also detected by --scanner trivy), ' +
    'Copa v1alpha1/v1alpha2 (--scanner native), or a plugin';
  if (isJsonObject(json) && 'apiVersion' in json && scanner !== 'native') {
    hint = 'this looks like a Copa update manifest: use --scanner native';
  } else if (isJsonObject(json) && 'SchemaVersion' in json && scanner !== 'trivy') {
    hint = 'this looks like a Trivy report: use --scanner trivy (the default)';
  } else if (isJsonObject(json) && 'matches' in json && scanner === 'native') {
    hint = 'this looks like a Grype report: use --scanner grype (or the default, --scanner trivy)';
  }
  return new CopaError('REPORT', `${file} is not a supported scan report format`, { hint });
}

function parseWith(parsers: ReportParser[], raw: Buffer, file: string, scanner: string): UpdateManifest {
  let last: UnsupportedReportError | undefined;
  for (const parser of parsers) {
    try {
      return parser.parse(raw, file);
    } catch (e) {
      if (!(e instanceof UnsupportedReportError)) throw e;
      last = e;
    }
  }
  throw notSupported(file, scanner, raw, last);
}

/** The report's vulnerability counts over the selected package types (total, with a fix, without). */
export function reportCounts(summary: PatchSummary, pkgTypes: PackageTypes[] = ['os']): SummaryCounts {
  const parts = [
    ...(pkgTypes.includes('os') ? [summary.os] : []),
    ...(pkgTypes.includes('library') ? [summary.lang] : []),
  ];
  const sum = (k: 'total' | 'patched' | 'skipped'): number => parts.reduce((n, c) => n + c[k], 0);
  return { total: sum('total'), patched: sum('patched'), skipped: sum('skipped') };
}

/** `Patch Summary: N total, N patched, N skipped` over the selected package types. */
export function formatPatchSummary(summary: PatchSummary, pkgTypes: PackageTypes[] = ['os']): string {
  const c = reportCounts(summary, pkgTypes);
  return `Patch Summary: ${c.total} total, ${c.patched} patched, ${c.skipped} skipped`;
}

/** Fails when OS updates are listed without the OS they are for. */
export function checkMetadata(manifest: UpdateManifest, file: string): void {
  if (manifest.osUpdates.length === 0) return;
  const missing = [manifest.os.type === '' ? 'OS type' : '', manifest.os.version === '' ? 'OS version' : '']
    .filter((m) => m !== '')
    .join(' and ');
  if (missing !== '') {
    throw new CopaError(
      'REPORT',
      `vulnerability report metadata is incomplete: ${missing} missing in ${file}`,
      {
        hint: 'scan the image itself (not a filesystem or SBOM) so the report records its operating system',
      },
    );
  }
}

/** Read and convert one report file. */
export async function loadReport(path: string, opts: LoadReportOptions = {}): Promise<UpdateManifest> {
  const scanner = opts.scanner ?? 'trivy';
  const logger = opts.logger ?? silentLogger;
  let manifest: UpdateManifest;
  const parsers = BUILT_IN[scanner];
  if (parsers !== undefined) {
    const raw = await readReportFile(path);
    manifest = parseWith(parsers, raw, path, scanner);
  } else {
    await readReportFile(path, false); // same clear errors for a missing file or a directory
    manifest = await runPlugin(scanner, path, {
      logger,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.env ? { env: opts.env } : {}),
    });
  }
  checkMetadata(manifest, path);
  // at debug level: what happened is said once, at the end of the run (reportCounts)
  if (manifest.summary !== undefined) logger.debug(formatPatchSummary(manifest.summary, opts.pkgTypes));
  logger.debug(
    `report ${path}: ${manifest.os.type} ${manifest.os.version} ${manifest.arch}, ` +
      `${manifest.osUpdates.length} OS updates, ${manifest.langUpdates.length} library updates`,
  );
  return manifest;
}
