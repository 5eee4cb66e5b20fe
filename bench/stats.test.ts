import { describe, expect, it } from 'vitest';
import type { LayerContent } from './layer.js';
import {
  bulkRssTarget,
  copaGoPeerOf,
  evaluateTargets,
  layerTarget,
  median,
  peerOf,
  perRunDetail,
  ratio,
  sumSamples,
  summarize,
  W4_BULK,
  W4_COPA_GO,
  W4_SEPARATE,
  type ContenderResult,
  type RoundResult,
} from './stats.js';

function round(n: number, wallS: number, extra: Partial<RoundResult> = {}): RoundResult {
  return {
    round: n,
    sample: { wallS, userS: wallS / 2, sysS: wallS / 4, cpuS: (wallS * 3) / 4, rssMiB: 100 + n },
    traffic: { pulled: 1000 * n, pushed: 2000 * n, requests: 10 },
    ...extra,
  };
}

function result(
  id: string,
  family: ContenderResult['family'],
  temperature: ContenderResult['temperature'],
  walls: number[],
  image = 'small',
): ContenderResult {
  return { id, label: id, family, temperature, image, rounds: walls.map((w, i) => round(i + 1, w)) };
}

function content(bytes: Partial<LayerContent['bytes']>, upgradedInstalledSize?: number): LayerContent {
  return {
    compressed: 1,
    uncompressed: 2,
    entries: 3,
    bytes: {
      'package files': 0,
      'dpkg db': 0,
      'apt lists': 0,
      'apt cache': 0,
      logs: 0,
      whiteouts: 0,
      ...bytes,
    },
    ...(upgradedInstalledSize === undefined ? {} : { upgradedInstalledSize }),
    unwanted: [],
  };
}

describe('median', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });
  it('refuses an empty list', () => {
    expect(() => median([])).toThrow(/median of nothing/);
  });
});

describe('summarize', () => {
  it('gives the medians of every measure, and of the layer sizes when rounds have them', () => {
    const s = summarize([
      round(1, 10, { layer: { compressed: 5, uncompressed: 50 } }),
      round(2, 30, { layer: { compressed: 7, uncompressed: 70 } }),
      round(3, 20, { layer: { compressed: 6, uncompressed: 60 } }),
    ]);
    expect(s).toEqual({
      wallS: 20,
      cpuS: 15,
      rssMiB: 102,
      pulled: 2000,
      pushed: 4000,
      layer: { compressed: 6, uncompressed: 60 },
    });
  });
  it('is undefined without rounds and has no layer when no round has one', () => {
    expect(summarize([])).toBeUndefined();
    expect(summarize([round(1, 1)])).not.toHaveProperty('layer');
  });
});

describe('ratio and peers', () => {
  it('divides, and is undefined for a missing value or a zero divisor', () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(undefined, 2)).toBeUndefined();
    expect(ratio(1, 0)).toBeUndefined();
  });
  it('finds the peer of the same family and temperature on the small image, skipping unavailable ones', () => {
    const results = [
      { ...result('buildah-warm', 'buildah', 'warm', []), unavailable: 'n/a' },
      result('floor-warm-10x', 'floor', 'warm', [1], '10x'),
      result('floor-warm', 'floor', 'warm', [1]),
    ];
    expect(peerOf(results, 'buildah', 'warm')).toBeUndefined();
    expect(peerOf(results, 'floor', 'warm')?.id).toBe('floor-warm');
  });
});

describe('evaluateTargets', () => {
  it('compares W1 warm with the warm peers and the 10x image', () => {
    const targets = evaluateTargets([
      result('copa-w1-warm', 'copa', 'warm', [4, 5, 6]),
      result('copa-w1-10x-warm', 'copa', 'warm', [6, 6, 6], '10x'),
      result('buildah-warm', 'buildah', 'warm', [20, 20, 20]),
      result('floor-warm', 'floor', 'warm', [3, 3, 3]),
    ]);
    expect(targets.map((t) => [t.measured, t.met])).toEqual([
      ['0.25× wall (0.25× CPU)', true],
      ['1.67× wall (1.67× CPU)', false],
      ['1.20× wall (1.20× CPU)', true],
      ['n/a', undefined],
      ['n/a', undefined],
      ['n/a', undefined],
      ['n/a', undefined],
    ]);
  });
  it('says n/a for what was not measured', () => {
    expect(evaluateTargets([]).every((t) => t.met === undefined && t.measured === 'n/a')).toBe(true);
  });
});

describe('layerTarget', () => {
  it('is met when the layer holds package files within Σ Installed-Size and the dpkg db only', () => {
    expect(layerTarget(content({ 'package files': 900, 'dpkg db': 50, whiteouts: 3 }, 1000)).met).toBe(true);
  });
  it('is missed with apt lists, caches or logs in the layer, or more package bytes than installed', () => {
    expect(layerTarget(content({ 'package files': 900, 'apt cache': 1 }, 1000)).met).toBe(false);
    expect(layerTarget(content({ 'package files': 1001 }, 1000)).met).toBe(false);
  });
  it('cannot tell without the status file', () => {
    expect(layerTarget(content({ 'package files': 1 })).met).toBeUndefined();
    expect(layerTarget(undefined).measured).toBe('n/a');
  });
});

describe('sums of runs (W4 separate runs, buildah per tag)', () => {
  const s = (wallS: number, rssMiB: number, treeRssMiB?: number) => ({
    wallS,
    userS: wallS / 2,
    sysS: wallS / 4,
    cpuS: (wallS * 3) / 4,
    rssMiB,
    ...(treeRssMiB === undefined ? {} : { treeRssMiB }),
  });
  it('adds wall and CPU times and keeps the largest peak RSS', () => {
    expect(sumSamples([s(10, 150, 300), s(6, 170, 250), s(4, 120)])).toEqual({
      wallS: 20,
      userS: 10,
      sysS: 5,
      cpuS: 15,
      rssMiB: 170,
      treeRssMiB: 300,
    });
    expect(sumSamples([s(1, 1)])).not.toHaveProperty('treeRssMiB');
    expect(() => sumSamples([])).toThrow(/no samples/);
  });
  it('describes the spread of the runs', () => {
    expect(perRunDetail([s(10, 1), s(6, 1), s(4, 1)])).toEqual({
      runs: 3,
      'first run wall s': 10,
      'fastest run wall s': 4,
      'slowest run wall s': 10,
    });
  });
});

describe('the original Copa as the peer of a row', () => {
  const go = (id: string, workload: string, temperature: 'cold' | 'warm', image = 'small') => ({
    ...result(id, 'copa-go', temperature, [10]),
    image,
    workload,
  });
  const results: ContenderResult[] = [
    go('copa-go-w1-cold', 'w1', 'cold'),
    go('copa-go-w1-warm', 'w1', 'warm'),
    go('copa-go-w4-bulk-cold', 'w4', 'cold', 'w4'),
    { ...result('copa-go-w2-warm', 'copa-go', 'warm', []), workload: 'w2', unavailable: 'n/a (x)' },
  ];
  it('is the row of the same workload, temperature and image', () => {
    const w1 = { ...result('copa-w1-cold', 'copa', 'cold', [5]), workload: 'w1' };
    expect(copaGoPeerOf(results, w1)?.id).toBe('copa-go-w1-cold');
    const bulk = { ...result('copa-w4-bulk-cold', 'copa', 'cold', [5], 'w4'), workload: 'w4' };
    expect(copaGoPeerOf(results, bulk)?.id).toBe('copa-go-w4-bulk-cold');
  });
  it('is none for the 10x image, an unavailable peer, a row without workload, and its own rows', () => {
    const big = { ...result('copa-w1-10x-cold', 'copa', 'cold', [5], '10x'), workload: 'w1' };
    expect(copaGoPeerOf(results, big)).toBeUndefined();
    const w2 = { ...result('copa-w2-warm', 'copa', 'warm', [5]), workload: 'w2' };
    expect(copaGoPeerOf(results, w2)).toBeUndefined();
    expect(copaGoPeerOf(results, result('floor-cold', 'floor', 'cold', [1]))).toBeUndefined();
    expect(copaGoPeerOf(results, results[0] as ContenderResult)).toBeUndefined();
  });
});

describe('W4 targets', () => {
  const w4 = (id: string, family: ContenderResult['family'], walls: number[]) => ({
    ...result(id, family, 'cold', walls, 'w4'),
    workload: 'w4',
  });
  it('compares our bulk run with the separate runs and with the original Copa, and checks its RSS', () => {
    const bulk = w4(W4_BULK, 'copa', [30]);
    const round = bulk.rounds[0] as RoundResult;
    bulk.rounds = [
      {
        ...round,
        sample: { ...round.sample, rssMiB: 180, treeRssMiB: 420 },
        detail: { 'Σ tree PSS MiB': 310 },
      },
    ];
    const targets = evaluateTargets([
      bulk,
      w4(W4_SEPARATE, 'copa', [200]),
      w4(W4_COPA_GO, 'copa-go', [50]),
    ]).slice(-3);
    expect(targets.map((t) => [t.name, t.measured, t.met])).toEqual([
      ['W4 bulk ≤ 0.3× ten separate runs (cold)', '0.15× wall (0.15× CPU)', true],
      ['W4 bulk ≤ 0.5× the original Copa bulk (cold)', '0.60× wall (0.60× CPU)', false],
      [
        'W4 bulk: peak RSS of the whole run ≤ 400 MiB',
        '420 MiB (Σ process tree RSS 420, Σ PSS 310, largest process 180)',
        false,
      ],
    ]);
  });
  it('has a bulk RSS target of n/a without the bulk row', () => {
    expect(bulkRssTarget(undefined)).toMatchObject({ measured: 'n/a', met: undefined });
  });
});
