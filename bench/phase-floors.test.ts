import { describe, expect, it } from 'vitest';
import {
  floorRatio,
  LAYER_FLOOR,
  layerNames,
  orderPhaseNames,
  phaseFloorTargets,
  PULL_FLOOR,
  seconds,
} from './phase-floors.js';
import type { ContenderResult } from './stats.js';

const row = (id: string, phases: Record<string, number>): ContenderResult => ({
  id,
  label: id,
  family: 'copa',
  temperature: 'cold',
  image: 'small',
  rounds: [],
  phases,
});

describe('layerNames', () => {
  it('maps whiteouts to the names of their character devices and drops opaque markers and slashes', () => {
    const listing = [
      'etc/',
      'etc/ssl/certs/.wh.08063a00.0',
      'etc/ssl/certs/a.pem',
      'usr/share/doc/x/.wh..wh..opq',
      './.wh.top',
      'usr/share/doc/x/',
      '',
    ].join('\n');
    expect(layerNames(listing)).toEqual([
      'etc',
      'etc/ssl/certs/08063a00.0',
      'etc/ssl/certs/a.pem',
      'top',
      'usr/share/doc/x',
    ]);
  });
});

describe('floor ratios', () => {
  it('divides our phase by the floor beside it', () => {
    const p = { 'layers ready': 3, [PULL_FLOOR]: 2, 'layer written': 1, [LAYER_FLOOR]: 0 };
    expect(floorRatio(p, 'layers ready')).toBe(1.5);
    expect(floorRatio(p, 'layer written')).toBeUndefined();
    expect(floorRatio(p, 'simulation')).toBeUndefined();
    expect(floorRatio(undefined, 'layers ready')).toBeUndefined();
  });
  it('rounds seconds from milliseconds', () => {
    expect(seconds(1000, 3456)).toBe(2.46);
  });
  it('orders each floor and its ratio row after its phase', () => {
    expect(orderPhaseNames([LAYER_FLOOR, 'layers ready', 'layer written', 'x'])).toEqual([
      'layers ready',
      'layer written',
      LAYER_FLOOR,
      'layer written ÷ floor',
      'x',
    ]);
  });
});

describe('phase floor targets', () => {
  it('takes the worst row and lists every row', () => {
    const [pull, layer] = phaseFloorTargets([
      row('a', { 'layers ready': 3, [PULL_FLOOR]: 2, 'layer written': 1.2, [LAYER_FLOOR]: 1 }),
      row('b', { 'layers ready': 0, 'layer written': 2, [LAYER_FLOOR]: 1 }),
    ]);
    expect(pull).toEqual({
      name: expect.stringContaining('≤ 1.5× its floor') as string,
      measured: 'worst 1.50× (a 3.00 s vs 2.00 s = 1.50×)',
      met: true,
    });
    expect(layer?.measured).toBe('worst 2.00× (a 1.20 s vs 1.00 s = 1.20×; b 2.00 s vs 1.00 s = 2.00×)');
    expect(layer?.met).toBe(false);
  });
  it('is n/a without floors', () => {
    expect(phaseFloorTargets([row('a', { 'layers ready': 1 })]).map((t) => t.met)).toEqual([
      undefined,
      undefined,
    ]);
  });
});
