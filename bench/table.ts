import type { Machine } from './machine.js';
import { FLOOR_OF, floorRatio, orderPhaseNames, ratioRowName } from './phase-floors.js';
import {
  copaGoPeerOf,
  median,
  peerOf,
  ratio,
  summarize,
  type ContenderResult,
  type Target,
} from './stats.js';

/** Plain-text and Markdown rendering of a bench run (pure). */

const MiB = 2 ** 20;

function mib(n: number | undefined, digits = 1): string {
  return n === undefined ? '–' : (n / MiB).toFixed(digits);
}

function times(q: number | undefined): string {
  return q === undefined ? '–' : `${q.toFixed(2)}×`;
}

export const COLUMNS = [
  'workload',
  'wall s',
  'CPU s',
  'peak RSS MiB',
  'Σ tree RSS MiB',
  'layer gz / tar MiB',
  'pulled MiB',
  'pushed MiB',
  '÷ buildah wall / CPU',
  '÷ floor wall / CPU',
  '÷ Copa 0.14.2 wall / CPU',
] as const;

/** a row with only its label and one note */
export function noteRow(label: string, note: string): string[] {
  return [label, note, ...Array.from({ length: COLUMNS.length - 2 }, () => '')];
}

/** One row of cells per contender (medians over the rounds); ratios against the peer of the same cache temperature. */
export function rows(results: readonly ContenderResult[]): string[][] {
  return results.map((r) => {
    if (r.unavailable) return noteRow(r.label, r.unavailable);
    const s = summarize(r.rounds);
    if (!s) return noteRow(r.label, 'failed (see the errors below)');
    const vs = (family: 'buildah' | 'floor'): string => {
      const peer = peerOf(results, family, r.temperature);
      // the peers run on the small image only
      if (!peer || peer.id === r.id || r.image !== 'small') return '–';
      const p = summarize(peer.rounds);
      return `${times(ratio(s.wallS, p?.wallS))} / ${times(ratio(s.cpuS, p?.cpuS))}`;
    };
    const vsCopaGo = (): string => {
      const p = summarize(copaGoPeerOf(results, r)?.rounds ?? []);
      return p ? `${times(ratio(s.wallS, p.wallS))} / ${times(ratio(s.cpuS, p.cpuS))}` : '–';
    };
    const layer = s.layer ? `${mib(s.layer.compressed)} / ${mib(s.layer.uncompressed)}` : '–';
    return [
      r.label,
      s.wallS.toFixed(2),
      s.cpuS.toFixed(2),
      s.rssMiB.toFixed(0),
      s.treeRssMiB === undefined ? '–' : s.treeRssMiB.toFixed(0),
      layer,
      mib(s.pulled, 2),
      mib(s.pushed, 2),
      vs('buildah'),
      vs('floor'),
      vsCopaGo(),
    ];
  });
}

/** A fixed-width text table. */
export function textTable(header: readonly string[], body: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** A GitHub Markdown table (pipes in cells escaped). */
export function markdownTable(header: readonly string[], body: readonly string[][]): string {
  const esc = (c: string): string => c.replaceAll('|', '\\|');
  const line = (cells: readonly string[]): string => `| ${cells.map(esc).join(' | ')} |`;
  const align = header.map((_, i) => (i === 0 ? '---' : '---:'));
  return [line(header), `|${align.map((a) => ` ${a} `).join('|')}|`, ...body.map(line)].join('\n');
}

export function targetLines(targets: readonly Target[]): string[] {
  const mark = (met: boolean | undefined): string => (met === undefined ? 'n/a ' : met ? 'met ' : 'MISS');
  return targets.map((t) => `${mark(t.met)}  ${t.name}: ${t.measured}`);
}

/**
 * Phase timings of the copa contenders (one `--debug` run each), as table rows; each floor measured beside
 * a phase follows it, with a row of our phase ÷ the floor (bench/phase-floors.ts).
 */
export function phaseRows(results: readonly ContenderResult[]): { header: string[]; body: string[][] } {
  const withPhases = results.filter((r) => r.phases && Object.keys(r.phases).length > 0);
  const names: string[] = [];
  for (const r of withPhases)
    for (const p of Object.keys(r.phases ?? {})) if (!names.includes(p)) names.push(p);
  const ratioOf = new Map(Object.keys(FLOOR_OF).map((p) => [ratioRowName(p), p]));
  const cell = (r: ContenderResult, name: string): string => {
    const phase = ratioOf.get(name);
    if (phase !== undefined) return times(floorRatio(r.phases, phase));
    return r.phases?.[name]?.toFixed(2) ?? '–';
  };
  return {
    header: ['phase (s)', ...withPhases.map((r) => r.label)],
    body: orderPhaseNames(names).map((p) => [p, ...withPhases.map((r) => cell(r, p))]),
  };
}

/** Per-contender details of the rounds (medians), e.g. the original Copa's client vs daemon split. */
export function detailLines(results: readonly ContenderResult[]): string[] {
  return results.flatMap((r) => {
    const keys = [...new Set(r.rounds.flatMap((x) => Object.keys(x.detail ?? {})))];
    if (keys.length === 0) return [];
    const parts = keys.map((k) => {
      const values = r.rounds.flatMap((x) => (x.detail?.[k] === undefined ? [] : [x.detail[k]]));
      const v = median(values);
      return `${k} ${Number.isInteger(v) ? String(v) : v.toFixed(2)}`;
    });
    return [`${r.label}: ${parts.join(', ')}`];
  });
}

export function machineLine(m: Machine): string {
  return `${m.cpus} × ${m.cpuModel}, ${(m.memBytes / 2 ** 30).toFixed(1)} GiB RAM, Linux ${m.kernel}, Node ${m.node}, load ${m.loadBefore.join(' ')} before / ${m.loadAfter.join(' ')} after`;
}
