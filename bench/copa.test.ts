import { describe, expect, it } from 'vitest';
import { patchArgv, patchedLayer } from './copa.js';
import type { ContenderResult, RoundResult } from './stats.js';
import { rows } from './table.js';

const ctx = { cli: '/r/dist/cli/main.js', proxyHost: '127.0.0.1:7000' };

describe('patchArgv', () => {
  it('is the user’s command, registry to registry through the proxy, with the extra flags last', () => {
    expect(
      patchArgv(ctx, { source: 'bench/debian:12', report: '/w/r.json' }, '/w/cache', 'bench/x-r1:patched', [
        '--addr',
        'unix:///w/bk.sock',
      ]),
    ).toEqual([
      process.execPath,
      '/r/dist/cli/main.js',
      'patch',
      '-i',
      '127.0.0.1:7000/bench/debian:12',
      '-r',
      '/w/r.json',
      '--push',
      '-t',
      '127.0.0.1:7000/bench/x-r1:patched',
      '--cache-dir',
      '/w/cache',
      '--timeout',
      '60m',
      '--json',
      '--addr',
      'unix:///w/bk.sock',
    ]);
    expect(patchArgv(ctx, { source: 'bench/debian:12' }, '/c', 't:p')).not.toContain('-r');
  });
});

describe('patchedLayer', () => {
  const layer = { digest: 'sha256:ab', size: 10, uncompressedSize: 30, mediaType: 'x' };
  it('gives the new layer of a Patched --json summary', () => {
    expect(patchedLayer(JSON.stringify({ status: 'Patched', layer, extra: 1 }), 'W1')).toEqual(layer);
  });
  it('refuses other statuses and unreadable output, naming the row', () => {
    expect(() => patchedLayer(JSON.stringify({ status: 'UpToDate' }), 'W1 cold')).toThrow(
      'W1 cold: expected a patched image, got status UpToDate',
    );
    expect(() => patchedLayer('Error: nope', 'W1 cold')).toThrow(/^W1 cold: unreadable --json output/);
  });
});

describe('rows of ours on BuildKit', () => {
  const round = (wallS: number, cpuS: number): RoundResult => ({
    round: 1,
    sample: { wallS, userS: cpuS, sysS: 0, cpuS, rssMiB: 100 },
    traffic: { pulled: 0, pushed: 0, requests: 0 },
  });
  const row = (id: string, family: ContenderResult['family'], r: RoundResult[]): ContenderResult => ({
    id,
    label: id,
    family,
    temperature: 'warm',
    image: 'small',
    workload: 'w1',
    rounds: r,
  });
  it('are divided by the original Copa’s row of the same workload and temperature', () => {
    const table = rows([
      row('copa-bk-w1-warm', 'copa-bk', [round(8, 4)]),
      row('copa-go-w1-warm', 'copa-go', [round(10, 5)]),
      { ...row('copa-bk-w2-warm', 'copa-bk', []), unavailable: 'n/a (no buildkitd: set …)' },
    ]);
    expect(table[0]?.at(-1)).toBe('0.80× / 0.80×');
    expect(table[2]?.[1]).toBe('n/a (no buildkitd: set …)');
  });
});
