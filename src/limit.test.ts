import { describe, expect, it } from 'vitest';
import { mapLimit, settled } from './limit.js';

describe('mapLimit', () => {
  it('keeps input order with at most `limit` calls in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit([30, 10, 20, 5], 2, async (ms) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, ms));
      inFlight--;
      return ms * 2;
    });
    expect(out).toEqual([60, 20, 40, 10]);
    expect(most).toBe(2);
  });
});

describe('settled', () => {
  it('resolves after the promise settles, either way, and at once for none', async () => {
    let done = false;
    const failing = new Promise<number>((_, reject) =>
      setTimeout(() => {
        done = true;
        reject(new Error('boom'));
      }, 20),
    );
    await expect(settled(failing)).resolves.toBeUndefined();
    expect(done).toBe(true);
    await expect(failing).rejects.toThrow('boom'); // the error stays with the original promise
    await expect(settled(Promise.resolve(1))).resolves.toBeUndefined();
    await expect(settled(undefined)).resolves.toBeUndefined();
  });
});
