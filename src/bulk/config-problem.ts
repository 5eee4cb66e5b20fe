import type { z } from 'zod';

/**
 * One-line messages for problems in a bulk config file: `<field path>: expected …, got …`.
 */

const FIELDS: Record<string, readonly string[]> = {
  config: ['apiVersion', 'kind', 'target', 'images'],
  image: ['name', 'image', 'tags', 'platforms', 'target'],
  tags: ['strategy', 'list', 'pattern', 'maxTags', 'exclude'],
  target: ['registry', 'tag'],
};
export type Path = ReadonlyArray<PropertyKey>;
/** A problem found in the config: where, and the `expected …, got …` text. */
export class Problem extends Error {
  constructor(
    readonly path: Path,
    readonly text: string,
  ) {
    super(text);
  }
}

export function formatPath(path: Path): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key))
      out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out === '' ? '(top level)' : out;
}

/** A short one-line description of a value found in the file. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  }
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a mapping';
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
}

const TYPE_NAMES: Record<string, string> = { string: 'a string', object: 'a mapping', array: 'a list' };

function objectKind(path: Path): string {
  const last = path[path.length - 1];
  if (path.length === 0) return 'config';
  if (typeof last === 'number') return 'image';
  return typeof last === 'string' && last in FIELDS ? last : 'config';
}

/** Edit distance of two short strings, case-insensitive (for "did you mean"). */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let row = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const next = [i];
    for (let j = 1; j <= y.length; j++) {
      const substitution = (row[j - 1] ?? 0) + (x[i - 1] === y[j - 1] ? 0 : 1);
      next.push(Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, substitution));
    }
    row = next;
  }
  return row[y.length] ?? 0;
}

/** The first zod issue as a Problem; unknown fields first (a misspelt field explains a missing one). */
export function schemaProblem(error: z.ZodError): Problem {
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0];
  if (issue === undefined) return new Problem([], 'invalid config');
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = FIELDS[objectKind(issue.path)] ?? [];
      const key = issue.keys[0] ?? '';
      const [guess] = known
        .filter((k) => distance(k, key) <= 2)
        .sort((p, q) => distance(p, key) - distance(q, key));
      const suggestion = guess === undefined ? '' : ` (did you mean ${guess}?)`;
      return new Problem(
        [...issue.path, key],
        `expected one of the fields ${known.join(', ')}, got unknown field ${JSON.stringify(key)}${suggestion}`,
      );
    }
    case 'invalid_type':
      return new Problem(
        issue.path,
        `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${describe(input)}`,
      );
    case 'invalid_value': {
      const values = issue.values.map(String);
      const expected = values.length === 1 ? JSON.stringify(values[0]) : `one of ${values.join(', ')}`;
      return new Problem(issue.path, `expected ${expected}, got ${describe(input)}`);
    }
    default:
      return new Problem(issue.path, issue.message);
  }
}
