import { describe, expect, it } from 'vitest';
import { exitCodeOf } from './build.js';
import { engineFor } from '../index.js';

describe('BuildKit build helpers', () => {
  it("reads the exit code from BuildKit's failure message", () => {
    expect(
      exitCodeOf('process "sh -c echo failing; exit 7" did not complete successfully: exit code: 7'),
    ).toBe(7);
    expect(exitCodeOf('failed to compute cache key: not found')).toBeUndefined();
  });
});

describe('engine choice', () => {
  it('native unless --addr or --engine buildkit', () => {
    expect(engineFor({}).name).toBe('native');
    expect(engineFor({ engine: 'native' }).name).toBe('native');
    expect(engineFor({ addr: 'unix:///run/buildkit/buildkitd.sock' }).name).toBe('buildkit');
    expect(engineFor({ engine: 'buildkit' }).name).toBe('buildkit');
    expect(engineFor({ engine: 'buildkit' }).pullsImages).toBe(true);
  });
});

describe('gRPC failures as one line', () => {
  it("keeps the system error of a failed connect, not grpc-js's wrapping", async () => {
    const { grpcMessage } = await import('./rpc.js');
    expect(
      grpcMessage({
        details:
          'No connection established. Last error: Error: connect EACCES /tmp/x/bk.sock. Resolution note: ',
      }),
    ).toBe('connect EACCES /tmp/x/bk.sock');
    expect(grpcMessage({ details: 'failed to solve: exit code: 2\nmore' })).toBe(
      'failed to solve: exit code: 2',
    );
  });
});
