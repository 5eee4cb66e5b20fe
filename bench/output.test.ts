import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePhases } from './copa.js';
import { parseFloorTimes, parseTarTotals } from './floor.js';
import {
  finishRun,
  README_END,
  README_START,
  readResults,
  renderMarkdown,
  renderText,
  replaceBetweenMarkers,
  writeResults,
  type BenchRun,
} from './output.js';
import type { LayerContent } from './layer.js';
import { LAYER_FLOOR, PULL_FLOOR } from './phase-floors.js';
import type { ContenderResult } from './stats.js';
import { detailLines, markdownTable, phaseRows, rows, textTable } from './table.js';

function result(
  id: string,
  family: ContenderResult['family'],
  temperature: ContenderResult['temperature'],
  wallS: number,
  image = 'small',
): ContenderResult {
  return {
    id,
    label: id,
    family,
    temperature,
    image,
    rounds: [
      {
        round: 1,
        sample: { wallS, userS: 1, sysS: 1, cpuS: 2, rssMiB: 120 },
        traffic: { pulled: 2 ** 20, pushed: 3 * 2 ** 20, requests: 9 },
        layer: { compressed: 10 * 2 ** 20, uncompressed: 30 * 2 ** 20 },
      },
    ],
  };
}

const content = (logs: number): LayerContent => ({
  compressed: 1,
  uncompressed: 2,
  entries: 10,
  bytes: {
    'package files': 3 * 2 ** 20,
    'dpkg db': 2 ** 20,
    'apt lists': 0,
    'apt cache': 0,
    logs,
    whiteouts: 2,
  },
  upgradedInstalledSize: 4 * 2 ** 20,
  unwanted: logs > 0 ? ['var/log/apt/term.log'] : [],
});

const results: ContenderResult[] = [
  {
    ...result('copa-w1-warm', 'copa', 'warm', 5),
    phases: { 'layers ready': 0.01, 'layer written': 1.5 },
    content: content(0),
  },
  { ...result('copa-w1-10x-warm', 'copa', 'warm', 6, '10x'), content: content(0) },
  result('buildah-warm', 'buildah', 'warm', 20),
  { ...result('floor-warm', 'floor', 'warm', 4), content: content(3000) },
  { ...result('buildah-cold', 'buildah', 'cold', 0), rounds: [], unavailable: 'n/a (buildah not installed)' },
  { ...result('floor-cold', 'floor', 'cold', 0), rounds: [], errors: ['apt failed\nsecond line'] },
];

describe('rows', () => {
  it('shows medians and ratios to the peers of the same temperature, for the small image only', () => {
    const [w1, big, buildah, floor, missing, failed] = rows(results);
    expect(w1).toEqual([
      'copa-w1-warm',
      '5.00',
      '2.00',
      '120',
      '–',
      '10.0 / 30.0',
      '1.00',
      '3.00',
      '0.25× / 1.00×',
      '1.25× / 1.00×',
      '–',
    ]);
    expect(big?.slice(8)).toEqual(['–', '–', '–']);
    expect(buildah?.slice(8)).toEqual(['–', '5.00× / 1.00×', '–']);
    expect(floor?.slice(8)).toEqual(['0.20× / 1.00×', '–', '–']);
    expect(missing?.slice(0, 2)).toEqual(['buildah-cold', 'n/a (buildah not installed)']);
    expect(failed?.[1]).toMatch(/^failed/);
  });
});

describe('tables', () => {
  it('pads text columns (first left, others right) and escapes Markdown pipes', () => {
    expect(textTable(['a', 'bb'], [['xyz', '1']])).toBe('a    bb\n---  --\nxyz   1');
    expect(markdownTable(['a', 'b'], [['x|y', '1']])).toBe('| a | b |\n| --- | ---: |\n| x\\|y | 1 |');
  });
  it('lists phases in first-seen order, one column per profiled workload', () => {
    expect(phaseRows(results)).toEqual({
      header: ['phase (s)', 'copa-w1-warm'],
      body: [
        ['layers ready', '0.01'],
        ['layer written', '1.50'],
      ],
    });
  });
  it('puts each floor under its phase with a ratio row, even when a later column brings it', () => {
    const warm = {
      ...result('w', 'copa', 'warm', 1),
      phases: { 'layers ready': 0, 'layer written': 1.2, [LAYER_FLOOR]: 0.6 },
    };
    const cold = {
      ...result('c', 'copa', 'cold', 1),
      phases: { 'layers ready': 3, simulation: 1, 'layer written': 1, [PULL_FLOOR]: 2, [LAYER_FLOOR]: 0.5 },
    };
    expect(phaseRows([warm, cold]).body).toEqual([
      ['layers ready', '0.00', '3.00'],
      [PULL_FLOOR, '–', '2.00'],
      ['layers ready ÷ floor', '–', '1.50×'],
      ['layer written', '1.20', '1.00'],
      [LAYER_FLOOR, '0.60', '0.50'],
      ['layer written ÷ floor', '2.00×', '2.00×'],
      ['simulation', '–', '1.00'],
    ]);
  });
});

describe('renderings', () => {
  const run: BenchRun = finishRun({
    version: 1,
    startedAt: '2026-01-02T03:04:05.678Z',
    finishedAt: '2026-01-02T03:34:05.678Z',
    rounds: 1,
    machine: {
      cpus: 2,
      cpuModel: 'Test CPU',
      memBytes: 8 * 2 ** 30,
      kernel: '6.1.0',
      node: 'v20.20.2',
      loadBefore: ['0.10', '0.20', '0.30'],
      loadAfter: ['1.00', '1.00', '1.00'],
    },
    cli: { path: 'dist/cli/main.js', commit: 'abc1234' },
    images: {
      small: { reference: 'r/small:12', layers: 2, compressed: 65 * 2 ** 20, uncompressed: 172 * 2 ** 20 },
      big: { reference: 'r/big:12', layers: 3, compressed: 660 * 2 ** 20, uncompressed: 1724 * 2 ** 20 },
      upgradable: [{ name: 'libssl3', from: '1', to: '2' }],
      distroless: { upgradable: [{ name: 'openssl', from: '1', to: '2' }] },
    },
    results,
  });

  it('prints the machine, the images, the table, errors and the targets', () => {
    const text = renderText(run);
    expect(text).toContain('2 × Test CPU, 8.0 GiB RAM, Linux 6.1.0, Node v20.20.2');
    expect(text).toContain('10x image: 3 layers, 660 MiB compressed / 1724 MiB uncompressed');
    expect(text).toContain('distroless upgradable today: 1 packages (openssl)');
    expect(text).not.toContain('pending');
    expect(text).toContain('floor-cold: apt failed\n    second line');
    // identical layers are one line naming every workload; small amounts in KiB
    expect(text).toContain(
      'copa-w1-warm; copa-w1-10x-warm: 10 entries: package files 3.0 MiB, dpkg db 1.0 MiB, 2 whiteouts (Σ Installed-Size of the upgraded packages: 4.0 MiB)\n',
    );
    expect(text).toContain(
      'floor-warm: 10 entries: package files 3.0 MiB, dpkg db 1.0 MiB, logs 3 KiB, 2 whiteouts',
    );
    expect(text).toContain('met   W1 warm ≤ 0.3× buildah (warm): 0.25× wall (1.00× CPU)');
    expect(text).toContain('met   W1 10x warm ≤ 1.2× W1 warm: 1.20× wall (1.00× CPU)');
    // issue 14's targets come first
    expect(text).toContain('targets (not asserted):\n  n/a   W1 cold ≤ 0.7× Copa v0.14.2 cold: n/a\n');
    expect(text).toContain('met   peak RSS ≤ 200 MiB (every single-image copa run): 120 MiB (copa-w1-warm)');
  });

  it('still shows the W3 note of an older record', () => {
    expect(renderText({ ...run, w3: 'n/a (old note)' })).toMatch(/W3 distroless\s+n\/a \(old note\)/);
  });

  it('renders Markdown for the README and replaces only the text between the markers', () => {
    const md = renderMarkdown(run, 'x.json');
    expect(md).toContain('| copa-w1-warm | 5.00 |');
    const readme = `# T\n\n## Benchmark\n\nintro\n\n${README_START}\nold\n${README_END}\n\nafter\n`;
    expect(replaceBetweenMarkers(readme, 'new')).toBe(
      `# T\n\n## Benchmark\n\nintro\n\n${README_START}\nnew\n${README_END}\n\nafter\n`,
    );
    expect(() => replaceBetweenMarkers('# no markers', 'x')).toThrow(/no <!-- bench:results:start -->/);
  });

  it('writes the record as <start time>.json and reads it back; refuses other JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-output-test-'));
    try {
      const path = await writeResults(join(dir, 'results'), run);
      expect(path).toBe(join(dir, 'results', '2026-01-02T03-04-05Z.json'));
      expect(await readdir(join(dir, 'results'))).toEqual(['2026-01-02T03-04-05Z.json']);
      expect(await readResults(path)).toEqual(run);
      await writeFile(join(dir, 'other.json'), '{"version": 2}');
      await expect(readResults(join(dir, 'other.json'))).rejects.toThrow(/is not a bench result/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('parsers of tool output', () => {
  it('reads the phase timings of a --debug run (other debug lines ignored, repeats added)', () => {
    const stderr = [
      'debug: GET http://x/v2/ -> 200',
      'debug: layers ready in 0.02s',
      'debug: simulation in 0.70s',
      '[21:09:49] debug: simulation in 0.30s', // the CLI's time-stamped plain lines
      'Pushed x',
    ].join('\n');
    expect(parsePhases(stderr)).toEqual({ 'layers ready': 0.02, simulation: 1 });
  });
  it('turns the floor script’s timestamps into phases', () => {
    expect(parseFloorTimes('100.000 112.504 115.004\n')).toEqual({
      'apt-get (mounts, update, upgrade)': 12.5,
      'layer (tar | gzip)': 2.5,
    });
    expect(() => parseFloorTimes('100 x')).toThrow(/bad floor timestamps/);
  });
  it('reads GNU tar --totals', () => {
    expect(parseTarTotals('Total bytes written: 80015360 (77MiB, 95MiB/s)\n')).toBe(80015360);
    expect(() => parseTarTotals('tar: error')).toThrow(/Total bytes written/);
  });
});

describe('the original Copa and W4 in the table', () => {
  const go = (id: string, workload: string, wallS: number, image = 'small'): ContenderResult => ({
    ...result(id, 'copa-go', 'cold', wallS, image),
    workload,
  });
  it('divides our rows by the original Copa row of the same workload and temperature', () => {
    const ours = { ...result('copa-w1-cold', 'copa', 'cold', 5), workload: 'w1' };
    const bulk = { ...result('copa-w4-bulk-cold', 'copa', 'cold', 30, 'w4'), workload: 'w4' };
    const table = rows([
      ours,
      bulk,
      go('copa-go-w1-cold', 'w1', 10),
      go('copa-go-w4-bulk-cold', 'w4', 60, 'w4'),
    ]);
    expect(table.map((r) => r.at(-1))).toEqual(['0.50× / 1.00×', '0.50× / 1.00×', '–', '–']);
  });
  it('shows the sampled tree RSS where there is one', () => {
    const r = result('copa-w4-bulk-cold', 'copa', 'cold', 30, 'w4');
    const round = r.rounds[0];
    if (round) round.sample.treeRssMiB = 333.4;
    expect(rows([r])[0]?.[4]).toBe('333');
  });
  it('lists the round details (medians) per contender', () => {
    const r = go('copa-go-w1-cold', 'w1', 10);
    r.rounds = [1, 2, 3].map((n) => ({
      ...(r.rounds[0] as ContenderResult['rounds'][number]),
      round: n,
      detail: { 'client CPU s': n / 10, 'buildkitd CPU s': 10 * n, runs: 10 },
    }));
    expect(detailLines([r, result('floor-cold', 'floor', 'cold', 1)])).toEqual([
      'copa-go-w1-cold: client CPU s 0.20, buildkitd CPU s 20, runs 10',
    ]);
  });
});
