import { describe, expect, it } from 'vitest';
import { withDaemon } from './peer.js';

describe('withDaemon (the original Copa: client + buildkitd)', () => {
  it('adds the daemon CPU to the client time and the two peak RSS, and keeps the split', () => {
    const client = { wallS: 20, userS: 0.2, sysS: 0.05, cpuS: 0.25, rssMiB: 30, treeRssMiB: 210 };
    expect(withDaemon(client, { userS: 25.5, sysS: 5.25, peakRssMiB: 61.5 })).toEqual({
      sample: { wallS: 20, userS: 25.7, sysS: 5.3, cpuS: 31, rssMiB: 91.5, treeRssMiB: 210 },
      detail: {
        'client CPU s': 0.25,
        'buildkitd CPU s': 30.75,
        'client peak RSS MiB': 30,
        'buildkitd peak RSS MiB': 61.5,
      },
    });
  });
});
