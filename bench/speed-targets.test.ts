import { describe, expect, it } from 'vitest';
import { PULL_FLOOR } from './phase-floors.js';
import { copaGoTargets, rssTarget, speedTargets, throughputTarget } from './speed-targets.js';
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
