import { z } from 'zod';
import { CopaError } from '../errors.js';

/**
 * Results of bulk jobs: the end-of-run summary table (Copa's columns), a JSON summary, and the JSON-lines
 * results files that shards append to (one line per finished job).
 */

export type JobStatus = 'Patched' | 'Skipped' | 'Failed' | 'Error';
export const JOB_STATUSES: readonly JobStatus[] = ['Patched', 'Skipped', 'Failed', 'Error'];

export interface JobResult {
  id: string;
  name: string;
  status: JobStatus;
  /** source image, `repo:tag` */
  source: string;
  patchedTag: string;
  details: string;
  digest?: string;
  retryable?: boolean;
  durationMs?: number;
  shard?: number;
  resumed?: boolean;
}

const jobResultSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  status: z.enum(['Patched', 'Skipped', 'Failed', 'Error']),
  source: z.string(),
  patchedTag: z.string(),
  details: z.string(),
  digest: z.string().optional(),
  retryable: z.boolean().optional(),
  durationMs: z.number().nonnegative().optional(),
  shard: z.number().int().nonnegative().optional(),
  resumed: z.boolean().optional(),
});

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorted by name, then source, then patched tag (a new array). */
export function sortResults(r: JobResult[]): JobResult[] {
  return [...r].sort(
    (a, b) =>
      compareStrings(a.name, b.name) ||
      compareStrings(a.source, b.source) ||
      compareStrings(a.patchedTag, b.patchedTag),
  );
}

/** One line of a table cell: line breaks and tabs become single spaces. */
function cell(text: string): string {
  return text.replace(/\s*[\r\n\t\f\v]+\s*/g, ' ');
}

function width(text: string): number {
  return [...text].length;
}

/**
 * The summary table, laid out like Go's tabwriter with padding 2 (as Copa prints it): every column but
 * the last is padded to its widest cell plus two spaces. Rows are sorted; ends with a newline.
 */
export function formatSummary(r: JobResult[]): string {
  const rows = [
    ['NAME', 'STATUS', 'SOURCE IMAGE', 'PATCHED TAG', 'DETAILS'],
    ...sortResults(r).map((j) => [j.name, j.status, j.source, j.patchedTag, j.details].map(cell)),
  ];
  const widths = [0, 1, 2, 3].map((col) => Math.max(...rows.map((row) => width(row[col] ?? ''))) + 2);
  return rows
    .map((row) =>
      row
        .map((text, col) =>
          col < widths.length ? text + ' '.repeat((widths[col] ?? 0) - width(text)) : text,
        )
        .join(''),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** The machine-readable summary: sorted jobs, a count per status (all four present), the total. */
export function summaryJson(r: JobResult[]): {
  jobs: JobResult[];
  counts: Record<JobStatus, number>;
  total: number;
} {
  const counts: Record<JobStatus, number> = { Patched: 0, Skipped: 0, Failed: 0, Error: 0 };
  for (const j of r) counts[j.status] += 1;
  return { jobs: sortResults(r), counts, total: r.length };
}

const RESULTS_HINT =
  'the results file holds one JSON object per line, written by bulk runs; fix or delete the bad line';

function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid job result';
  const where = issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
  return `${where}${issue.message}`;
}

/**
 * Parse a JSON-lines results file. Blank lines are ignored. A last line without its newline that is not
 * valid JSON is the tail of a writer that was killed mid-line and is ignored; any other bad line is a
 * CopaError USAGE naming `file:line`.
 */
export function parseResultLines(text: string, file: string): JobResult[] {
  const lines = text.split('\n');
  const results: JobResult[] = [];
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const unterminated = i === lines.length - 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      if (unterminated) return;
      const why = err instanceof Error ? err.message : String(err);
      throw new CopaError('USAGE', `${file}:${i + 1}: not valid JSON: ${why}`, { hint: RESULTS_HINT });
    }
    const parsed = jobResultSchema.safeParse(value);
    if (!parsed.success) {
      throw new CopaError('USAGE', `${file}:${i + 1}: not a job result: ${issueText(parsed.error)}`, {
        hint: RESULTS_HINT,
      });
    }
    results.push(parsed.data);
  });
  return results;
}

/**
 * One result per job id: the last line for an id wins (shards append, and a re-run appends after the
 * earlier attempt). Jobs keep the position of their first line.
 */
export function mergeResults(all: JobResult[]): JobResult[] {
  const byId = new Map<string, JobResult>();
  for (const r of all) byId.set(r.id, r);
  return [...byId.values()];
}
