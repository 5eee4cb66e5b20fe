import { mkdir, mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import { STALE_MS, withLock } from './lock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'copa-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('withLock', () => {
  it('serialises holders of one lock and releases it afterwards', async () => {
    const path = join(dir, 'thing');
    const events: string[] = [];
    const holder = (name: string) =>
      withLock(path, { what: 'the thing' }, async () => {
        events.push(`${name} in`);
        await sleep(80);
        events.push(`${name} out`);
        return name;
      });
    const results = await Promise.all([holder('a'), holder('b'), holder('c')]);
    expect(results).toStrictEqual(['a', 'b', 'c']);
    // never two inside at once: every "in" is followed by its own "out"
    for (let i = 0; i < events.length; i += 2) {
      expect(events[i + 1]).toBe(events[i]?.replace(' in', ' out'));
    }
    expect(await readdir(dir)).toStrictEqual([]); // lock directory removed
  });

  it('releases the lock when the holder throws', async () => {
    const path = join(dir, 'thing');
    await expect(withLock(path, { what: 'x' }, () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    await expect(withLock(path, { what: 'x' }, () => Promise.resolve(1))).resolves.toBe(1);
  });

  it('gives up after the bounded wait with a LOCKED error that names what it waited for', async () => {
    const path = join(dir, 'thing');
    const lines: string[] = [];
    const logger = { debug() {}, info: (m: string) => lines.push(m), warn() {} };
    await withLock(path, { what: 'the first' }, async () => {
      const err = await withLock(path, { what: 'the package indexes', waitMs: 300, logger }, () =>
        Promise.resolve(),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CopaError);
      expect((err as CopaError).code).toBe('LOCKED');
      expect((err as CopaError).message).toMatch(/the package indexes/);
      expect((err as CopaError).hint).toMatch(/COPA_LOCK_TIMEOUT/);
    });
    expect(lines[0]).toMatch(/^Waiting for the package indexes/);
  });

  it('takes over a lock left by a holder that died (mtime older than the stale limit)', async () => {
    const path = join(dir, 'thing');
    // what a kill -9 leaves: the lock directory, never refreshed again
    await mkdir(`${path}.lock`);
    const past = new Date(Date.now() - STALE_MS - 5_000);
    await utimes(`${path}.lock`, past, past);
    const started = Date.now();
    await expect(withLock(path, { what: 'x', waitMs: 2_000 }, () => Promise.resolve('ok'))).resolves.toBe(
      'ok',
    );
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('stops waiting when the run is cancelled', async () => {
    const path = join(dir, 'thing');
    await withLock(path, { what: 'x' }, async () => {
      const controller = new AbortController();
      const waiting = withLock(path, { what: 'x', signal: controller.signal }, () => Promise.resolve());
      setTimeout(() => controller.abort(new CopaError('CANCELLED', 'operation canceled')), 100);
      await expect(waiting).rejects.toMatchObject({ code: 'CANCELLED' });
    });
  });
});
