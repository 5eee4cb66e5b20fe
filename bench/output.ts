import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { LayerContent } from './layer.js';
import type { Machine } from './machine.js';
import { speedTargets } from './speed-targets.js';
import { evaluateTargets, type ContenderResult, type Target } from './stats.js';
import {
  COLUMNS,
  detailLines,
  machineLine,
  markdownTable,
  noteRow,
  phaseRows,
  rows,
  targetLines,
  textTable,
} from './table.js';

/** The record of one bench run (the JSON file), and its renderings: stdout text and the README section. */

export interface ImageFacts {
  reference: string;
  layers: number;
  compressed: number;
  uncompressed: number;
}

export interface BenchRun {
  version: 1;
  startedAt: string;
  finishedAt: string;
  rounds: number;
  machine: Machine;
  cli: { path: string; commit: string };
  images: {
    small: ImageFacts;
    big: ImageFacts;
    upgradable: Array<{ name: string; from: string; to: string }>;
    /** W3: the distroless fixture's upgradable packages that day (when W3 ran) */
    distroless?: { upgradable: Array<{ name: string; from: string; to: string }> };
  };
  /** older records only: W3's note from before it was measured */
  w3?: string;
  results: ContenderResult[];
  targets: Target[];
}

/** The record with its targets: the speed targets of issue 14 first, then the others. */
export function finishRun(partial: Omit<BenchRun, 'targets'>): BenchRun {
  const targets = [...speedTargets(partial.results, partial.images), ...evaluateTargets(partial.results)];
  return { ...partial, targets };
}

const upgradableLine = (what: string, list: ReadonlyArray<{ name: string }>): string =>
  `${what}: ${list.length} packages (${list.map((u) => u.name).join(', ')})`;

/** the W3 note of an older record (before W3 was measured) as a table row */
const w3Rows = (run: BenchRun): string[][] => (run.w3 ? [noteRow('W3 distroless', run.w3)] : []);

const mib = (n: number): string => `${(n / 2 ** 20).toFixed(0)} MiB`;

function imageLine(name: string, i: ImageFacts): string {
  return `${name}: ${i.layers} layers, ${mib(i.compressed)} compressed / ${mib(i.uncompressed)} uncompressed`;
}

function size(n: number): string {
  return n >= 0.1 * 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`;
}

function describeContent(c: LayerContent): string {
  const parts = Object.entries(c.bytes)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => (k === 'whiteouts' ? `${n} whiteouts` : `${k} ${size(n)}`));
  const limit =
    c.upgradedInstalledSize === undefined
      ? ''
      : ` (Σ Installed-Size of the upgraded packages: ${size(c.upgradedInstalledSize)})`;
  const stray = c.unwanted.length > 0 ? `; e.g. ${c.unwanted.slice(0, 3).join(', ')}` : '';
  return `${c.entries} entries: ${parts.join(', ')}${limit}${stray}`;
}

function detailBlock(
  results: readonly ContenderResult[],
  bullet: (l: string) => string,
  title: string,
  markdown = false,
): string[] {
  const lines = detailLines(results);
  if (lines.length === 0) return [];
  return [title, ...(markdown ? [''] : []), ...lines.map(bullet), ''];
}

/** One line per distinct layer content, naming the workloads that produced it. */
function contentLines(results: readonly ContenderResult[]): string[] {
  const groups = new Map<string, string[]>();
  for (const r of results) {
    if (!r.content) continue;
    const d = describeContent(r.content);
    groups.set(d, [...(groups.get(d) ?? []), r.label]);
  }
  return [...groups].map(([d, labels]) => `${labels.join('; ')}: ${d}`);
}

function errorLines(results: readonly ContenderResult[]): string[] {
  const failed = results.filter((r) => r.errors && r.errors.length > 0);
  if (failed.length === 0) return [];
  return [
    '',
    'errors:',
    ...failed.flatMap((r) => (r.errors ?? []).map((e) => `  ${r.id}: ${e.split('\n').join('\n    ')}`)),
  ];
}

/** The text printed at the end of a run. */
export function renderText(run: BenchRun): string {
  const phases = phaseRows(run.results);
  return [
    `copa bench, ${run.rounds} round(s), medians — ${run.startedAt}`,
    `machine: ${machineLine(run.machine)}`,
    `CLI: ${run.cli.path} (${run.cli.commit})`,
    imageLine('small image', run.images.small),
    imageLine('10x image', run.images.big),
    upgradableLine('upgradable today', run.images.upgradable),
    ...(run.images.distroless
      ? [upgradableLine('distroless upgradable today', run.images.distroless.upgradable)]
      : []),
    '',
    textTable(COLUMNS, [...rows(run.results), ...w3Rows(run)]),
    '',
    ...detailBlock(run.results, (l) => `  ${l}`, 'details (medians):'),
    'new layer content:',
    ...contentLines(run.results).map((l) => `  ${l}`),
    ...errorLines(run.results),
    '',
    ...(phases.body.length > 0
      ? ['phases of one --debug run each:', textTable(phases.header, phases.body), '']
      : []),
    'targets (not asserted):',
    ...targetLines(run.targets).map((l) => `  ${l}`),
  ].join('\n');
}

/** The Markdown put between the README markers. */
export function renderMarkdown(run: BenchRun, jsonName: string): string {
  const phases = phaseRows(run.results);
  return [
    `Latest run: ${run.startedAt.slice(0, 10)}, ${run.rounds} rounds (medians), CLI at ${run.cli.commit}; machine: ${machineLine(run.machine)}.`,
    `Images: ${imageLine('small', run.images.small)}; ${imageLine('10x', run.images.big)}; ${run.images.upgradable.length} upgradable packages that day${run.images.distroless ? ` (distroless fixture: ${run.images.distroless.upgradable.length})` : ''}. Raw figures: \`bench/results/${jsonName}\` (not committed).`,
    '',
    markdownTable(COLUMNS, [...rows(run.results), ...w3Rows(run)]),
    '',
    ...detailBlock(run.results, (l) => `- ${l}`, 'Details (medians):', true),
    ...(phases.body.length > 0
      ? ['Phases (s, one `--debug` run each):', '', markdownTable(phases.header, phases.body), '']
      : []),
    'New layer content:',
    '',
    ...contentLines(run.results).map((l) => `- ${l}`),
    '',
    'Targets (not asserted):',
    '',
    ...run.targets.map(
      (t) => `- ${t.met === undefined ? 'n/a' : t.met ? 'met' : '**missed**'}: ${t.name}: ${t.measured}`,
    ),
  ].join('\n');
}

export const README_START = '<!-- bench:results:start -->';
export const README_END = '<!-- bench:results:end -->';

/** Replace the text between the markers (pure). */
export function replaceBetweenMarkers(text: string, body: string): string {
  const a = text.indexOf(README_START);
  const b = text.indexOf(README_END);
  if (a < 0 || b < a) throw new Error(`README has no ${README_START} … ${README_END} block`);
  return `${text.slice(0, a + README_START.length)}\n${body}\n${text.slice(b)}`;
}

export async function writeResults(dir: string, run: BenchRun): Promise<string> {
  await mkdir(dir, { recursive: true });
  const name = `${run.startedAt.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')}.json`;
  const path = join(dir, name);
  await writeFile(`${path}.tmp`, JSON.stringify(run, null, 2) + '\n');
  await rename(`${path}.tmp`, path);
  return path;
}

/** A result file written by writeResults (checked for its version and main fields). */
export async function readResults(path: string): Promise<BenchRun> {
  const raw: unknown = JSON.parse(await readFile(path, 'utf8'));
  const shape = z.looseObject({
    version: z.literal(1),
    startedAt: z.string(),
    rounds: z.number(),
    machine: z.looseObject({ cpus: z.number(), cpuModel: z.string() }),
    results: z.array(z.looseObject({ id: z.string(), rounds: z.array(z.unknown()) })),
    targets: z.array(z.unknown()),
  });
  const r = shape.safeParse(raw);
  if (!r.success)
    throw new Error(`${path} is not a bench result: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return raw as BenchRun;
}

export async function updateReadme(readme: string, markdown: string): Promise<void> {
  const text = await readFile(readme, 'utf8');
  const tmp = join(dirname(readme), `.README.md.${process.pid}.tmp`);
  await writeFile(tmp, replaceBetweenMarkers(text, markdown));
  await rename(tmp, readme);
}
