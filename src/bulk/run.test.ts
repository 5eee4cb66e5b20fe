import { describe, expect, it } from 'vitest';
import type { PlanJob } from './planfile.js';
import { defaultJobs, scheduleOrder } from './run.js';

const job = (id: string, group: string): PlanJob => ({
  id: id.padStart(16, '0'),
  name: id,
  source: `r/${id}:1`,
  target: `r/${id}:1-patched`,
  platforms: [],
  group,
  action: 'patch',
});

describe('scheduleOrder', () => {
  it('interleaves groups, largest first, keeping each group in its own order', () => {
    const jobs = [
      job('a1', 'A'),
      job('b1', 'B'),
      job('a2', 'A'),
      job('a3', 'A'),
      job('c1', 'C'),
      job('b2', 'B'),
    ];
    expect(scheduleOrder(jobs).map((j) => j.name)).toStrictEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
  });

  it('keeps every job exactly once', () => {
    const jobs = Array.from({ length: 25 }, (_, i) => job(`j${i}`, `g${i % 4}`));
    const out = scheduleOrder(jobs);
    expect(out).toHaveLength(25);
    expect(new Set(out.map((j) => j.id)).size).toBe(25);
  });
});

describe('defaultJobs', () => {
  it('is between 1 and 16', () => {
    const n = defaultJobs();
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(16);
  });
});
