/** JSON helpers shared by the report parsers. */
import type { z } from 'zod';
import { UnsupportedReportError } from './types.js';

/** Parse report bytes as JSON (a leading UTF-8 byte order mark is ignored). */
export function parseReportJson(raw: Buffer, file: string): unknown {
  const text = raw.toString('utf8').replace(/^\uFEFF/, '');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UnsupportedReportError(`${file} is not JSON: ${oneLine((e as Error).message)}`, { cause: e });
  }
}

/** A message that quotes the input (JSON.parse's do) on one line: control characters escaped. */
export function oneLine(message: string): string {
  // eslint-disable-next-line no-control-regex -- these characters are what is escaped
  return message.replace(/[\u0000-\u001f]/g, (c) => JSON.stringify(c).slice(1, -1));
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
