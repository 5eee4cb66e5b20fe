import { describe, expect, it } from 'vitest';
import { PULL_FLOOR } from './phase-floors.js';
import {
  bkClientRssTarget,
  bkTargets,
  copaGoTargets,
  rssTarget,
  speedTargets,
  throughputTarget,
} from './speed-targets.js';
import type { ContenderResult, RoundResult } from './stats.js';

const MiB = 2 ** 20;

function round(wallS: number, rssMiB = 100, detail?: Record<string, number>): RoundResult {
  return {
    round: 1,
    sample: { wallS, userS: wallS / 2, sysS: 0, cpuS: wallS / 2, rssMiB },
    traffic: { pulled: 0, pushed: 0, requests: 0 },
    ...(detail ? { detail } : {}),
  };
}

function row(
  id: string,
  family: ContenderResult['family'],
  rounds: RoundResult[],
  image = 'small',
): ContenderResult {
  return { id, label: id, family, temperature: 'cold', image, rounds };
}

describe('against the original Copa', () => {
  it('gives W1 and W2, cold and warm, each with its own limit', () => {
    const targets = copaGoTargets([
      row('copa-w1-cold', 'copa', [round(7)]),
      row('copa-go-w1-cold', 'copa-go', [round(10)]),
      row('copa-w2-warm', 'copa', [round(7)]),
      row('copa-go-w2-warm', 'copa-go', [round(10)]),
    ]);
    expect(targets.map((t) => [t.name, t.measured, t.met])).toEqual([
      ['W1 cold ≤ 0.7× Copa v0.14.2 cold', '0.70× wall (0.70× CPU)', true],
      ['W1 warm ≤ 0.5× Copa v0.14.2 warm', 'n/a', undefined],
      ['W2 (update-all) cold ≤ 0.8× Copa v0.14.2 cold', 'n/a', undefined],
      ['W2 (update-all) warm ≤ 0.6× Copa v0.14.2 warm', '0.70× wall (0.70× CPU)', false],
    ]);
  });
});

describe('ours on the BuildKit engine', () => {
  it('gives W1 cold and warm against the original Copa on the same buildkitd, ≤ 0.9× each', () => {
    const targets = bkTargets([
      row('copa-bk-w1-cold', 'copa-bk', [round(9)]),
      row('copa-go-w1-cold', 'copa-go', [round(10)]),
      row('copa-bk-w1-warm', 'copa-bk', [round(9.5)]),
      row('copa-go-w1-warm', 'copa-go', [round(10)]),
    ]);
    expect(targets.map((t) => [t.name, t.measured, t.met])).toEqual([
      ['ours on BuildKit W1 cold ≤ 0.9× Copa v0.14.2 cold (same buildkitd)', '0.90× wall (0.90× CPU)', true],
      ['ours on BuildKit W1 warm ≤ 0.9× Copa v0.14.2 warm (same buildkitd)', '0.95× wall (0.95× CPU)', false],
    ]);
    expect(
      bkTargets([{ ...row('copa-bk-w1-cold', 'copa-bk', []), unavailable: 'n/a (no buildkitd)' }]),
    ).toEqual([
      expect.objectContaining({ measured: 'n/a', met: undefined }),
      expect.objectContaining({ measured: 'n/a', met: undefined }),
    ]);
  });

  it('takes the largest client peak of every copa-bk round, buildkitd beside it, not the summed column', () => {
    const bk = (client: number, daemon: number): RoundResult =>
      round(1, client + daemon, { 'client peak RSS MiB': client, 'buildkitd peak RSS MiB': daemon });
    const t = bkClientRssTarget([
      row('copa-bk-w1-cold', 'copa-bk', [bk(120, 400), bk(140.4, 300)]),
      row('copa-bk-w2-warm', 'copa-bk', [bk(130, 500)]),
      // the original Copa's and our native rows are not ours on BuildKit
      row('copa-go-w1-cold', 'copa-go', [bk(400, 400)]),
      row('copa-w1-cold', 'copa', [round(1, 190)]),
    ]);
    expect(t).toEqual({
      name: 'ours on BuildKit: client peak RSS ≤ 150 MiB (every copa-bk run)',
      measured: '140 MiB (copa-bk-w1-cold); buildkitd 300 MiB beside it',
      met: true,
    });
    expect(bkClientRssTarget([row('copa-bk-w1-warm', 'copa-bk', [bk(151, 10)])]).met).toBe(false);
    expect(bkClientRssTarget([row('copa-bk-w1-warm', 'copa-bk', [round(1, 100)])])).toMatchObject({
      measured: 'n/a',
      met: undefined,
    });
  });

  it('comes right after the native engine’s RSS target', () => {
    const names = speedTargets([]).map((t) => t.name);
    const at = names.findIndex((n) => n.startsWith('peak RSS ≤ 200 MiB'));
    expect(names.slice(at + 1, at + 4)).toEqual([
      'ours on BuildKit W1 cold ≤ 0.9× Copa v0.14.2 cold (same buildkitd)',
      'ours on BuildKit W1 warm ≤ 0.9× Copa v0.14.2 warm (same buildkitd)',
      'ours on BuildKit: client peak RSS ≤ 150 MiB (every copa-bk run)',
    ]);
  });
});

describe('peak RSS', () => {
  it('takes our largest single-image round and shows the original Copa client + buildkitd beside it', () => {
    const t = rssTarget([
      row('copa-w1-cold', 'copa', [round(1, 150), round(1, 199.6)]),
      row('copa-w4-bulk-cold', 'copa', [round(1, 350)], 'w4'),
      row('copa-go-w1-cold', 'copa-go', [
        round(1, 0, { 'client peak RSS MiB': 40, 'buildkitd peak RSS MiB': 300 }),
      ]),
      row('copa-go-w2-cold', 'copa-go', [
        round(1, 0, { 'client peak RSS MiB': 45, 'buildkitd peak RSS MiB': 310 }),
      ]),
    ]);
    expect(t).toEqual({
      name: 'peak RSS ≤ 200 MiB (every single-image copa run)',
      measured: '200 MiB (copa-w1-cold); Copa v0.14.2: client 45 + buildkitd 310 = 355 MiB (copa-go-w2-cold)',
      met: true,
    });
    expect(rssTarget([row('copa-w1-cold', 'copa', [round(1, 201)])]).met).toBe(false);
    // ours on BuildKit (client + buildkitd in the column) has its own client target
    expect(rssTarget([row('copa-bk-w1-cold', 'copa-bk', [round(1, 500)])]).measured).toBe('n/a');
    expect(rssTarget([])).toMatchObject({ measured: 'n/a', met: undefined });
  });
});

describe('10x throughput', () => {
  const images = { small: { compressed: 30 * MiB }, big: { compressed: 300 * MiB } };
  const big = (wallS: number, floorS?: number): ContenderResult => ({
    ...row('copa-w1-10x-cold', 'copa', [round(wallS)], '10x'),
    ...(floorS === undefined ? {} : { phases: { [PULL_FLOOR]: floorS } }),
  });
  it('compares the marginal throughput with the floor’s', () => {
    // marginal 270 MiB / 3 s = 90 MiB/s; floor 300 MiB / 3 s = 100 MiB/s
    const t = throughputTarget([row('copa-w1-cold', 'copa', [round(10)]), big(13, 3)], images);
    expect(t.measured).toBe(
      '90.0 MiB/s = 90 % (Δ 270 MiB in Δ 3.00 s); floor 100.0 MiB/s (300 MiB in 3.00 s)',
    );
    expect(t.met).toBe(true);
    expect(throughputTarget([row('copa-w1-cold', 'copa', [round(10)]), big(14, 3)], images).met).toBe(false);
  });
  it('is met when the 10x image is not slower, n/a without the figures', () => {
    const t = throughputTarget([row('copa-w1-cold', 'copa', [round(10)]), big(9, 3)], images);
    expect(t.met).toBe(true);
    expect(t.measured).toMatch(/^10x not slower/);
    expect(throughputTarget([row('copa-w1-cold', 'copa', [round(10)]), big(13)], images).met).toBe(undefined);
    expect(throughputTarget([big(13, 3)], images).measured).toBe('n/a');
  });
  it('is one of the speed targets, last', () => {
    expect(speedTargets([], images).at(-1)?.name).toMatch(/^W1 10x cold: marginal throughput/);
  });
});
