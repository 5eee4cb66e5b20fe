/** JSON helpers shared by the report parsers. */
import type { z } from 'zod';
import { UnsupportedReportError } from './types.js';

/** Parse report bytes as JSON (a leading UTF-8 byte order mark is ignored). */
export function parseReportJson(raw: Buffer, file: string): unknown {
  const text = raw.toString('utf8').replace(/^\uFEFF/, '');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UnsupportedReportError(`${file} is not JSON: ${(e as Error).message}`, { cause: e });
  }
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** "Results.0.Vulnerabilities.2.PkgName: expected string, received number" — the first issue only. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid';
  const where = issue.path.map(String).join('.');
  return where === '' ? issue.message : `${where}: ${issue.message}`;
}
