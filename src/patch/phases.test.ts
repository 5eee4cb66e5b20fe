import { describe, expect, it } from 'vitest';
import { formatTimings, Phases } from './phases.js';

describe('Phases', () => {
  it('records phases in order, adds up a repeated one and logs each at debug level', async () => {
    const lines: string[] = [];
    const p = new Phases({ debug: (m) => lines.push(m), info() {}, warn() {} });
    p.add('layers ready', 1.234);
    expect(await p.time('layer written', () => Promise.resolve(42))).toBe(42);
    p.add('layers ready', 0.5);
    const list = p.list();
    expect(list.map((t) => t.phase)).toEqual(['layers ready', 'layer written']);
    expect(list[0]?.seconds).toBe(1.73);
    expect(lines[0]).toBe('layers ready in 1.23s');
    expect(lines[1]).toMatch(/^layer written in \d+\.\d\ds$/);
  });

  it('laps: each call ends one phase and starts the next', async () => {
    const p = new Phases({ debug() {}, info() {}, warn() {} });
    const lap = p.laps();
    await new Promise((r) => setTimeout(r, 30));
    lap('package lists updated');
    lap('simulation');
    const [a, b] = p.list();
    expect(a?.seconds).toBeGreaterThanOrEqual(0.02);
    expect(b?.seconds).toBeLessThan(0.02);
  });
});

describe('formatTimings', () => {
  it('aligns a table with the total last', () => {
    expect(
      formatTimings(
        [
          { phase: 'layers ready', seconds: 1.5 },
          { phase: 'packages installed', seconds: 11.05 },
        ],
        14.2,
      ),
    ).toEqual([
      'phase               seconds',
      'layers ready           1.50',
      'packages installed    11.05',
      'total (wall)          14.20',
    ]);
  });
});
