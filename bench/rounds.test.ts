import { describe, expect, it } from 'vitest';
import type { Contender, RoundOutcome } from './contender.js';
import type { LayerContent } from './layer.js';
import { executeRounds, roundOrder, setAside } from './rounds.js';

describe('roundOrder', () => {
  it('rotates the list by one per round', () => {
    expect(roundOrder(['a', 'b', 'c'], 1)).toEqual(['a', 'b', 'c']);
    expect(roundOrder(['a', 'b', 'c'], 2)).toEqual(['b', 'c', 'a']);
    expect(roundOrder(['a', 'b', 'c'], 4)).toEqual(['a', 'b', 'c']);
    expect(roundOrder([], 3)).toEqual([]);
  });
});

const fakeContent: LayerContent = {
  compressed: 1,
  uncompressed: 2,
  entries: 1,
  bytes: { 'package files': 1, 'dpkg db': 0, 'apt lists': 0, 'apt cache': 0, logs: 0, whiteouts: 0 },
  unwanted: [],
};

/** A fake contender (no commands run): records the calls, fails where told. */
function fakeContender(
  id: string,
  calls: string[],
  opts: { failRound?: number; failPrepare?: boolean } = {},
): Contender {
  return {
    id,
    label: id,
    family: 'copa',
    temperature: 'warm',
    image: 'small',
    prepare() {
      calls.push(`prepare ${id}`);
      return opts.failPrepare ? Promise.reject(new Error('no tool')) : Promise.resolve();
    },
    round(n): Promise<RoundOutcome> {
      calls.push(`${id}#${n}`);
      if (n === opts.failRound) return Promise.reject(new Error(`boom ${n}`));
      return Promise.resolve({
        round: n,
        sample: { wallS: n, userS: 0, sysS: 0, cpuS: 0, rssMiB: 1 },
        traffic: { pulled: 0, pushed: 0, requests: 0 },
        phases: { [`round ${n}`]: n },
        inspect: () => {
          calls.push(`inspect ${id}#${n}`);
          return Promise.resolve(fakeContent);
        },
      });
    },
    profile() {
      calls.push(`profile ${id}`);
      return Promise.resolve({ 'layers ready': 0.5 });
    },
  };
}

describe('executeRounds (fake contenders)', () => {
  const opts = { rounds: 3, profile: true, log: () => undefined, aborted: () => false };

  it('prepares all, alternates them over the rounds, inspects the first good round, then profiles', async () => {
    const calls: string[] = [];
    const results = await executeRounds(
      [fakeContender('a', calls, { failRound: 1 }), fakeContender('b', calls)],
      opts,
    );
    expect(calls).toEqual([
      'prepare a',
      'prepare b',
      'a#1',
      'b#1',
      'inspect b#1',
      'b#2',
      'a#2',
      'inspect a#2',
      'a#3',
      'b#3',
      'profile a',
      'profile b',
    ]);
    const a = results.find((r) => r.id === 'a');
    expect(a?.rounds.map((r) => r.round)).toEqual([2, 3]);
    expect(a?.errors).toEqual(['boom 1']);
    expect(a?.content).toEqual(fakeContent);
    // the profile run's phases win over those a round reported
    expect(a?.phases).toEqual({ 'layers ready': 0.5 });
    expect(a?.rounds[0]).not.toHaveProperty('inspect');
  });

  it('leaves out a contender whose preparation failed, with the reason', async () => {
    const calls: string[] = [];
    const results = await executeRounds(
      [fakeContender('a', calls, { failPrepare: true }), fakeContender('b', calls)],
      { ...opts, rounds: 1, profile: false },
    );
    expect(calls).toEqual(['prepare a', 'prepare b', 'b#1', 'inspect b#1']);
    expect(results.find((r) => r.id === 'a')).toMatchObject({ rounds: [], errors: ['preparation: no tool'] });
    // without a profile run, the first round's own phases are kept, and rounds do not carry them
    expect(results.find((r) => r.id === 'b')?.phases).toEqual({ 'round 1': 1 });
    expect(results.find((r) => r.id === 'b')?.rounds[0]).not.toHaveProperty('phases');
  });

  it('stops when aborted', async () => {
    await expect(executeRounds([fakeContender('a', [])], { ...opts, aborted: () => true })).rejects.toThrow(
      /interrupted/,
    );
  });
});

describe('setAside', () => {
  it('turns the contenders of one family into n/a rows and keeps the others', () => {
    const c = (id: string, family: Contender['family'], workload?: string): Contender => ({
      id,
      label: id,
      family,
      temperature: 'cold',
      image: 'small',
      ...(workload ? { workload } : {}),
      round: () => Promise.reject(new Error('not run')),
    });
    const { kept, rows } = setAside(
      [c('a', 'copa', 'w1'), c('b', 'copa-go', 'w1'), c('d', 'copa-go')],
      'copa-go',
      'n/a (no copa)',
    );
    expect(kept.map((x) => x.id)).toEqual(['a']);
    expect(rows).toEqual([
      {
        id: 'b',
        label: 'b',
        family: 'copa-go',
        temperature: 'cold',
        image: 'small',
        workload: 'w1',
        rounds: [],
        unavailable: 'n/a (no copa)',
      },
      {
        id: 'd',
        label: 'd',
        family: 'copa-go',
        temperature: 'cold',
        image: 'small',
        rounds: [],
        unavailable: 'n/a (no copa)',
      },
    ]);
  });
});
