import { describe, expect, it } from 'vitest';
import { eachLimit } from './push.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('eachLimit', () => {
  it('never runs more than the limit at once and runs everything', async () => {
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    await eachLimit([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await tick();
      running--;
      done.push(n);
    });
    expect(peak).toBe(3);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('starts nothing new after a failure, lets running work finish, then throws the first error', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const err = await eachLimit([1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      await tick();
      if (n === 1) throw new Error('first');
      await tick();
      finished.push(n);
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('first');
    expect(started).toEqual([1, 2]);
    expect(finished).toEqual([2]);
  });

  it('handles an empty list', async () => {
    await eachLimit([], 3, () => Promise.reject(new Error('never')));
  });
});
