import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { byteCounter, throttledBytes } from './digest.js';

describe('byteCounter', () => {
  it('passes data through and tells the running total at most once per step, and at the end', async () => {
    const told: number[] = [];
    const out: Buffer[] = [];
    const chunks = [Buffer.alloc(600), Buffer.alloc(600), Buffer.alloc(100)];
    for await (const c of Readable.from(chunks).pipe(byteCounter((n) => told.push(n), 1000))) {
      out.push(c as Buffer);
    }
    expect(Buffer.concat(out).length).toBe(1300);
    expect(told).toEqual([1200, 1300]);
  });

  it('throttledBytes: a final total is told once', () => {
    const told: number[] = [];
    const tell = throttledBytes((n) => told.push(n), 10);
    for (const n of [4, 8, 12, 15]) tell(n);
    tell(15, true);
    tell(15, true);
    expect(told).toEqual([12, 15]);
  });
});
