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

  it('tells a progress sink when a phase starts, moves on, ends or fails', async () => {
    const events: unknown[] = [];
    const p = new Phases({ debug() {}, info() {}, warn() {} }, (e) => events.push(e), 'linux/amd64');
    await p.time('layers ready', () => {
      p.update('layers ready', '1/2 layers');
      return Promise.resolve();
    });
    await expect(p.time('layer written', () => Promise.reject(new Error('disk full')))).rejects.toThrow(
      'disk full',
    );
    expect(events).toEqual([
      { platform: 'linux/amd64', phase: 'layers ready', state: 'start' },
      { platform: 'linux/amd64', phase: 'layers ready', state: 'update', detail: '1/2 layers' },
      {
        platform: 'linux/amd64',
        phase: 'layers ready',
        state: 'done',
        seconds: expect.any(Number) as number,
      },
      { platform: 'linux/amd64', phase: 'layer written', state: 'start' },
      {
        platform: 'linux/amd64',
        phase: 'layer written',
        state: 'fail',
        seconds: expect.any(Number) as number,
      },
    ]);
    expect(p.list().map((t) => t.phase)).toEqual(['layers ready']);
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
