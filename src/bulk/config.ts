import { readFile, stat } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { CopaError } from '../errors.js';
import { parseReference } from '../oci/reference.js';
import { targetRepository } from './target.js';
import { describe, formatPath, Problem, schemaProblem, type Path } from './config-problem.js';
import { isValidTag, templateProblem } from './template.js';
import type { ImageSpec, PatchConfig, TagSpec, TargetSpec } from './spec.js';

/**
 * The bulk-mode config file (`copa patch --config FILE`), Copa's copa.sh/v1alpha1 PatchConfig. Stricter
 * than Copa on purpose: unknown fields and fields the chosen tag strategy does not use are errors, not
 * silently ignored. Every problem is reported as one line `<file>: <field>: expected …, got …`.
 */

export type { ImageSpec, PatchConfig, TagSpec, TargetSpec } from './spec.js';

export const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_ALIASES = 100;
const HINT = 'fix the config file; the schema is in the README (copa.sh/v1alpha1 PatchConfig)';

// The YAML is read with the failsafe schema: every scalar is a string, so `list: [3.10]` stays "3.10"
// (as Copa's typed decoding keeps it) instead of becoming the number 3.1; maxTags is converted below.
const targetSchema = z.strictObject({ registry: z.string().optional(), tag: z.string().optional() });
const tagsSchema = z.strictObject({
  strategy: z.enum(['list', 'pattern', 'latest']),
  list: z.array(z.string()).optional(),
  pattern: z.string().optional(),
  maxTags: z.string().optional(),
  exclude: z.array(z.string()).optional(),
});
const imageSchema = z.strictObject({
  name: z.string(),
  image: z.string(),
  tags: tagsSchema,
  platforms: z.array(z.string()).optional(),
  target: targetSchema.optional(),
});
const configSchema = z.strictObject({
  apiVersion: z.literal('copa.sh/v1alpha1'),
  kind: z.literal('PatchConfig'),
  target: targetSchema.optional(),
  images: z.array(imageSchema),
});
type RawConfig = z.infer<typeof configSchema>;
type RawTags = z.infer<typeof tagsSchema>;

/** Which fields a tag strategy reads; the others are rejected rather than ignored. */
const STRATEGY_FIELDS: Record<TagSpec['strategy'], readonly string[]> = {
  list: ['list'],
  pattern: ['pattern', 'maxTags', 'exclude'],
  latest: ['exclude'],
};
const PLATFORM_RE = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function checkTarget(target: TargetSpec | undefined, path: Path): void {
  if (target?.registry !== undefined) {
    try {
      targetRepository('image', target.registry);
    } catch (err) {
      // targetRepository says `target registry "…" gives the invalid repository "…": <why>`
      const message = err instanceof Error ? err.message : String(err);
      const why = message.slice(message.lastIndexOf('": ') + 3);
      throw new Problem(
        [...path, 'registry'],
        `expected a registry host with an optional path such as ghcr.io/myorg, got ${describe(target.registry)} (${why})`,
      );
    }
  }
  if (target?.tag !== undefined) {
    const problem = target.tag === '' ? 'empty' : templateProblem(target.tag);
    if (problem !== undefined) {
      throw new Problem(
        [...path, 'tag'],
        `expected a tag template of text and {{ .SourceTag }} such as "{{ .SourceTag }}-patched", got ${describe(target.tag)} (${problem})`,
      );
    }
  }
}

function checkTags(raw: RawTags, path: Path): TagSpec {
  const used = STRATEGY_FIELDS[raw.strategy];
  for (const field of ['list', 'pattern', 'maxTags', 'exclude'] as const) {
    if (raw[field] !== undefined && !used.includes(field)) {
      throw new Problem(
        [...path, field],
        `expected no ${field} with strategy ${raw.strategy} (it uses ${['strategy', ...used].join(', ')}), got ${describe(raw[field])}`,
      );
    }
  }
  const spec: TagSpec = { strategy: raw.strategy };
  if (raw.strategy === 'list') {
    if (raw.list === undefined || raw.list.length === 0) {
      throw new Problem(
        [...path, 'list'],
        `expected a non-empty list of tags for strategy list, got ${describe(raw.list)}`,
      );
    }
    const seen = new Set<string>();
    raw.list.forEach((tag, i) => {
      if (!isValidTag(tag)) {
        throw new Problem(
          [...path, 'list', i],
          `expected a tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}), got ${describe(tag)}`,
        );
      }
      if (seen.has(tag))
        throw new Problem([...path, 'list', i], `expected each tag once, got ${describe(tag)} again`);
      seen.add(tag);
    });
    spec.list = raw.list;
  }
  if (raw.strategy === 'pattern') {
    if (raw.pattern === undefined || raw.pattern === '') {
      throw new Problem(
        [...path, 'pattern'],
        `expected a regular expression for strategy pattern, got ${describe(raw.pattern)}`,
      );
    }
    try {
      new RegExp(raw.pattern);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new Problem(
        [...path, 'pattern'],
        `expected a JavaScript regular expression, got ${describe(raw.pattern)} (${why})`,
      );
    }
    spec.pattern = raw.pattern;
  }
  if (raw.maxTags !== undefined) {
    const n = /^[0-9]+$/.test(raw.maxTags) ? Number(raw.maxTags) : NaN;
    if (!Number.isSafeInteger(n)) {
      throw new Problem(
        [...path, 'maxTags'],
        `expected a non-negative integer, got ${describe(raw.maxTags)}`,
      );
    }
    spec.maxTags = n;
  }
  if (raw.exclude !== undefined) spec.exclude = raw.exclude;
  return spec;
}

function checkImage(raw: RawConfig['images'][number], path: Path): ImageSpec {
  if (raw.name.trim() === '' || [...raw.name].some((c) => c < ' ' || c === '\x7f')) {
    throw new Problem([...path, 'name'], `expected a non-empty one-line name, got ${describe(raw.name)}`);
  }
  let ref;
  try {
    ref = parseReference(raw.image);
  } catch (err) {
    const why =
      err instanceof Error ? err.message.replace(/^invalid image reference "(?:[^"\\]|\\.)*": /, '') : '';
    throw new Problem(
      [...path, 'image'],
      `expected a repository such as docker.io/library/nginx, got ${describe(raw.image)} (${why})`,
    );
  }
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new Problem(
      [...path, 'image'],
      `expected a repository without tag or digest (tags go in tags), got ${describe(raw.image)}`,
    );
  }
  const spec: ImageSpec = { name: raw.name, image: raw.image, tags: checkTags(raw.tags, [...path, 'tags']) };
  if (raw.platforms !== undefined) {
    if (raw.platforms.length === 0) {
      throw new Problem(
        [...path, 'platforms'],
        'expected at least one platform (omit the field for all platforms), got an empty list',
      );
    }
    raw.platforms.forEach((p, i) => {
      if (!PLATFORM_RE.test(p)) {
        throw new Problem(
          [...path, 'platforms', i],
          `expected a platform os/arch[/variant] such as linux/arm/v7, got ${describe(p)}`,
        );
      }
    });
    spec.platforms = raw.platforms;
  }
  checkTarget(raw.target, [...path, 'target']);
  if (raw.target !== undefined) spec.target = raw.target;
  return spec;
}

function usage(file: string, text: string): CopaError {
  return new CopaError('USAGE', `${file}: ${oneLine(text)}`, { hint: HINT });
}

/** Parse and validate PatchConfig YAML; `file` names it in messages. Throws CopaError USAGE. */
export function parsePatchConfig(text: string, file: string): PatchConfig {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_CONFIG_BYTES) throw usage(file, `file size: expected at most 1 MiB, got ${bytes} bytes`);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { schema: 'failsafe', prettyErrors: false, lineCounter, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    const { line } = lineCounter.linePos(yamlError.pos[0]);
    throw usage(file, `line ${line}: bad YAML: ${yamlError.message}`);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw usage(file, `bad YAML: ${why} (at most ${MAX_ALIASES} alias expansions)`);
  }
  const parsed = configSchema.safeParse(data, { reportInput: true });
  try {
    if (data === null || data === undefined)
      throw new Problem([], 'expected a PatchConfig mapping, got an empty document');
    if (!parsed.success) throw schemaProblem(parsed.error);
    const raw = parsed.data;
    checkTarget(raw.target, ['target']);
    if (raw.images.length === 0)
      throw new Problem(['images'], 'expected at least one image, got an empty list');
    const config: PatchConfig = {
      apiVersion: raw.apiVersion,
      kind: raw.kind,
      images: raw.images.map((image, i) => checkImage(image, ['images', i])),
    };
    if (raw.target !== undefined) config.target = raw.target;
    return config;
  } catch (err) {
    if (err instanceof Problem) throw usage(file, `${formatPath(err.path)}: ${err.text}`);
    throw err;
  }
}

/** Read and parse a PatchConfig file. A missing, unreadable or oversized file is a CopaError USAGE. */
export async function loadPatchConfig(file: string): Promise<PatchConfig> {
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw usage(file, 'expected a config file, got a directory or special file');
    if (info.size > MAX_CONFIG_BYTES)
      throw usage(file, `file size: expected at most 1 MiB, got ${info.size} bytes`);
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof CopaError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(err);
    throw new CopaError('USAGE', `${file}: cannot read the config file: ${why}`, {
      hint: 'check the path given to --config',
      cause: err,
    });
  }
  return parsePatchConfig(text, file);
}
